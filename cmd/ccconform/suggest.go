package main

import "strings"

// didYouMean is ", did you mean <prefix><name>?" for the known name closest to what was typed,
// or "" when none is close: one that starts with it, else one a few edits away.
func didYouMean(typed string, known []string, prefix string) string {
	best, bestDistance := "", 0
	for _, k := range known {
		d := distance(strings.ToLower(typed), k)
		if strings.HasPrefix(k, typed) && len(typed) >= 3 {
			d = 1
		}
		if best == "" || d < bestDistance {
			best, bestDistance = k, d
		}
	}
	if best == "" || bestDistance > max(2, len(typed)/3) {
		return ""
	}
	return " (did you mean " + prefix + best + "?)"
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
