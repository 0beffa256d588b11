package registry

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

var (
	groupHeading = regexp.MustCompile(`^### (2\.[A-Z]) `)
	rowID        = regexp.MustCompile(`^[CH]-([A-Z0-9]+)-(.+)-[a-z]$`)
)

// ParseChecklist reads the requirement rows of CHECKLIST.md: every table row of a "### 2.X"
// section whose first cell is an ID (C-… or H-…).
func ParseChecklist(src []byte) ([]Row, error) {
	var rows []Row
	group := ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := groupHeading.FindStringSubmatch(line); m != nil {
			group = m[1]
			continue
		}
		if !strings.HasPrefix(line, "| C-") && !strings.HasPrefix(line, "| H-") {
			continue
		}
		cells := splitRow(line)
		if len(cells) != 6 {
			return nil, fmt.Errorf("CHECKLIST.md:%d: a requirement row has %d cells, not 6", n, len(cells))
		}
		r := Row{ID: cells[0], Group: group, Refs: cells[1], Kind: Kind(cells[3]),
			Summary: plain(cells[4]), Check: plain(cells[5])}
		r.Level = Level(strings.TrimSpace(strings.TrimSuffix(cells[2], "(*)")))
		m := rowID.FindStringSubmatch(r.ID)
		if m == nil {
			return nil, fmt.Errorf("CHECKLIST.md:%d: %q is not an ID of the form C-DOC-SECTION-x", n, r.ID)
		}
		r.Doc, r.Section = docOf(m[1]), m[2]
		if r.Level != MUST && r.Level != SHOULD && r.Level != MAY {
			return nil, fmt.Errorf("CHECKLIST.md:%d: %s has the level %q", n, r.ID, cells[2])
		}
		if r.Kind != Direct && r.Kind != Derived {
			return nil, fmt.Errorf("CHECKLIST.md:%d: %s has the kind %q", n, r.ID, cells[3])
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// splitRow splits a Markdown table row at the pipes that are not escaped or inside code.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cur.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// plain drops Markdown emphasis, which the reports do not render everywhere.
func plain(s string) string { return strings.ReplaceAll(s, "**", "") }

func docOf(code string) string {
	switch code {
	case "21":
		return "OAuth 2.1"
	case "OIDCC":
		return "OpenID Connect Core"
	}
	return "RFC " + code
}
