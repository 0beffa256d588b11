package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The target description is read as a yaml.Node tree, not into tagged structs, so that every
// error can name the key and line the user wrote, and so that its schema is the option table's.

// schema is the description's shape, derived from the option table: a leaf sets an option, an
// inner node is a mapping of members.
type schema struct {
	opt     int // the option a leaf sets; -1 for a mapping
	members map[string]*schema
	keys    []string // the members in declaration order, for messages
}

var fileSchema = func() *schema {
	root := &schema{opt: -1, members: map[string]*schema{}}
	for i, opt := range options {
		if opt.yaml == "" {
			continue
		}
		s := root
		parts := strings.Split(opt.yaml, ".")
		for j, part := range parts {
			m := s.members[part]
			if m == nil {
				m = &schema{opt: -1, members: map[string]*schema{}}
				s.members[part], s.keys = m, append(s.keys, part)
			}
			if j == len(parts)-1 {
				m.opt = i
			}
			s = m
		}
	}
	return root
}()

// fileDecoder reads one description file.
type fileDecoder struct {
	name   string // as the user named it
	dir    string // where its relative file names resolve
	getenv func(string) string
}

// errorf reports a problem of the node n, the value of key: "file:line: key …".
func (f *fileDecoder) errorf(n *yaml.Node, key, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s %s", f.name, n.Line, key, fmt.Sprintf(format, args...))
}

// readFile lays the description file at path over t.
func (o *Options) readFile(t *Target, getenv func(string) string, path string) error {
	cfg := indexOf("target-config")
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s names %s, which does not exist", o.name(cfg), path)
		}
		return fmt.Errorf("%s names %s, which cannot be read: %v", o.name(cfg), path, errors.Unwrap(err))
	}
	f := &fileDecoder{name: o.file, dir: filepath.Dir(path), getenv: getenv}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	switch err := dec.Decode(&doc); {
	case err == io.EOF:
		return nil // an empty description changes nothing
	case err != nil:
		return f.syntax(err)
	}
	switch err := dec.Decode(&next); {
	case err == nil:
		return fmt.Errorf("%s:%d: a second document; a target description is one", f.name, next.Line)
	case err != io.EOF:
		return f.syntax(err)
	}
	return f.walk(doc.Content[0], fileSchema, "", func(i int, key string, k, v *yaml.Node) error {
		return o.setFromFile(f, t, i, key, k, v)
	})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntax rewrites a parser error as "file:line: what".
func (f *fileDecoder) syntax(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", f.name, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("%s: %s", f.name, strings.TrimPrefix(msg, "yaml: "))
}

// walk decodes the mapping n against s, calling leaf for each member that sets an option.
func (f *fileDecoder) walk(n *yaml.Node, s *schema, path string, leaf func(i int, key string, k, v *yaml.Node) error) error {
	return f.members(n, path, s.keys, func(key string, k, v *yaml.Node) error {
		m := s.members[k.Value]
		if m.opt >= 0 {
			return leaf(m.opt, key, k, v)
		}
		if err := leaf(-1, key, k, v); err != nil {
			return err
		}
		return f.walk(v, m, key, leaf)
	})
}

// members calls each for every member of the mapping n (the value of path), refusing anything
// but a mapping, a key given twice and a key that is not one of keys. A null is an empty
// mapping.
func (f *fileDecoder) members(n *yaml.Node, path string, keys []string, each func(key string, k, v *yaml.Node) error) error {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if path == "" {
			return fmt.Errorf("%s:%d: a target description is a mapping of options, not a %s", f.name, n.Line, kind(n))
		}
		return f.errorf(n, path, "must be a mapping of %s, not a %s", strings.Join(keys, ", "), kind(n))
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if path != "" {
			key = path + "." + k.Value
		}
		switch line, twice := first[k.Value]; {
		case !slices.Contains(keys, k.Value) && path == "":
			return f.errorf(k, key, "is not an option of the target description")
		case !slices.Contains(keys, k.Value):
			return f.errorf(k, key, "is not a member of %s, which has %s", path, strings.Join(keys, ", "))
		case twice:
			return f.errorf(k, key, "is given twice (first on line %d)", line)
		}
		first[k.Value] = k.Line
		if err := each(key, k, v); err != nil {
			return err
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "single value"
}

// scalar is the text of a single value, with its ${VAR} references expanded; a null is empty.
func (f *fileDecoder) scalar(n *yaml.Node, key string) (string, error) {
	n = deref(n)
	switch {
	case n.Kind != yaml.ScalarNode:
		return "", f.errorf(n, key, "must be a single value, not a %s", kind(n))
	case isNull(n):
		return "", nil
	}
	return f.expand(n, key)
}

// reference is ${NAME} or ${NAME:-default}, or $${, which stands for a literal ${.
var reference = regexp.MustCompile(`\$\$\{|\$\{([^}]*)\}`)
var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces each ${NAME} in the value of n with the variable; an unset (or empty)
// variable is an error. ${NAME:-default} gives the default instead, as a shell does (the
// reference's description names its URL so: reference/target.yaml).
func (f *fileDecoder) expand(n *yaml.Node, key string) (string, error) {
	var err error
	s := reference.ReplaceAllStringFunc(n.Value, func(m string) string {
		if m == "$${" {
			return "${"
		}
		name, def, hasDefault := strings.Cut(m[2:len(m)-1], ":-")
		v := ""
		switch {
		case !variableName.MatchString(name):
			err = cmp.Or(err, f.errorf(n, key, "refers to %s, which is not a variable name", m))
		default:
			if v = f.getenv(name); v == "" && hasDefault {
				v = def
			} else if v == "" {
				err = cmp.Or(err, f.errorf(n, key, "refers to %s, which is not set", m))
			}
		}
		return v
	})
	return s, err
}

// setFromFile gives option i the value v of the member k (key); i < 0 is a mapping of options
// being entered.
func (o *Options) setFromFile(f *fileDecoder, t *Target, i int, key string, k, v *yaml.Node) error {
	if i < 0 {
		// The description's client is the whole client: it does not keep the built-in demo
		// client's id or secret.
		if key == "client" {
			t.Client.ID, t.Client.Secret = "", ""
			o.origins[indexOf("client-id")] = origin{fromFile, k.Line}
			o.origins[indexOf("client-secret")] = origin{fromFile, k.Line}
		}
		return nil
	}
	o.origins[i] = origin{fromFile, k.Line}
	switch p := options[i].field(t).(type) {
	case *Fixtures:
		return f.fixtures(v, key, p)
	case *[]Resource:
		return f.resources(v, key, p)
	case *[]ResourceIndicator:
		return f.resourceIndicators(v, key, p)
	case *[]string:
		return f.list(v, key, p)
	}
	s, err := f.scalar(v, key)
	if err != nil {
		return err
	}
	return o.set(t, i, s, origin{fromFile, k.Line}, f.dir)
}

// list reads a list of words: a YAML list, or one value of space-separated words.
func (f *fileDecoder) list(n *yaml.Node, key string, dst *[]string) error {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		s, err := f.scalar(n, key)
		*dst = strings.Fields(s)
		return err
	}
	*dst = []string{}
	for i, item := range n.Content {
		s, err := f.scalar(item, fmt.Sprintf("%s[%d]", key, i))
		if err != nil {
			return err
		}
		*dst = append(*dst, s)
	}
	return nil
}

var fixtureKeys = []string{"special_characters", "without_client_credentials", "short_lived", "public", "brute_force",
	"introspector", "second", "private_key_jwt", "private_key_jwt_2", "client_secret_jwt", "dpop_bound", "mtls", "mtls_2"}

// fixtures reads the fixture clients; each is {id, secret, auth_method}, and a null one is
// not declared.
func (f *fileDecoder) fixtures(n *yaml.Node, key string, dst *Fixtures) error {
	*dst = Fixtures{}
	slots := map[string]**Client{
		"special_characters": &dst.SpecialCharacters, "without_client_credentials": &dst.WithoutClientCredentials,
		"short_lived": &dst.ShortLived, "public": &dst.Public, "brute_force": &dst.BruteForce,
		"introspector": &dst.Introspector, "second": &dst.Second, "private_key_jwt": &dst.PrivateKeyJWT,
		"private_key_jwt_2": &dst.PrivateKeyJWT2, "client_secret_jwt": &dst.ClientSecretJWT,
		"dpop_bound": &dst.DPoPBound, "mtls": &dst.MTLS, "mtls_2": &dst.MTLS2,
	}
	return f.members(n, key, fixtureKeys, func(key string, k, v *yaml.Node) error {
		if isNull(deref(v)) {
			return nil
		}
		var c Client
		err := f.strings(v, key, []string{"id", "secret", "auth_method", "private_key", "private_key_file", "key_id", "alg",
			"certificate", "certificate_file"},
			map[string]*string{"id": &c.ID, "secret": &c.Secret, "auth_method": &c.AuthMethod, "private_key": &c.PrivateKey,
				"private_key_file": &c.PrivateKeyFile, "key_id": &c.KeyID, "alg": &c.Alg,
				"certificate": &c.Certificate, "certificate_file": &c.CertificateFile},
			func(member, value string) string {
				if member == "auth_method" {
					return checkAuthMethod(value)
				}
				return ""
			})
		c.PrivateKeyFile = resolve(f.dir, c.PrivateKeyFile)
		c.CertificateFile = resolve(f.dir, c.CertificateFile)
		switch {
		case err != nil:
		case c.ID == "":
			err = f.errorf(v, key, "needs an id")
		case checkKey(c) != "":
			err = f.errorf(v, key, "%s", checkKey(c))
		}
		*slots[k.Value] = &c
		return err
	})
}

// resources reads the protected resources, a list of {path, method, scope}.
func (f *fileDecoder) resources(n *yaml.Node, key string, dst *[]Resource) error {
	return mappingList(f, n, key, dst, []string{"path", "method", "scope"},
		func(r *Resource) map[string]*string {
			return map[string]*string{"path": &r.Path, "method": &r.Method, "scope": &r.Scope}
		},
		func(member, value string) string {
			switch member {
			case "path":
				return checkPath(value)
			case "method":
				return checkMethod(value)
			case "scope":
				if value != "" && !scopeToken(value) {
					return fmt.Sprintf("%q is not a scope (RFC 6749 §3.3)", value)
				}
			}
			return ""
		},
		func(r Resource) string {
			if r.Path == "" || r.Method == "" {
				return "needs a path and a method"
			}
			return ""
		})
}

// resourceIndicators reads the resource indicators, a list of {resource, path}.
func (f *fileDecoder) resourceIndicators(n *yaml.Node, key string, dst *[]ResourceIndicator) error {
	return mappingList(f, n, key, dst, []string{"resource", "path"},
		func(r *ResourceIndicator) map[string]*string {
			return map[string]*string{"resource": &r.Resource, "path": &r.Path}
		},
		func(member, value string) string {
			if member == "resource" {
				return checkResourceIndicator(value)
			}
			return checkEndpoint(value, true)
		},
		func(r ResourceIndicator) string {
			if r.Resource == "" {
				return "needs a resource"
			}
			return ""
		})
}

// mappingList reads a list of mappings of single values (keys) into dst: fields names an item's
// fields, check refuses a wrong value, missing says what a complete-looking item lacks.
func mappingList[T any](f *fileDecoder, n *yaml.Node, key string, dst *[]T, keys []string,
	fields func(*T) map[string]*string, check func(member, value string) string, missing func(T) string) error {
	n = deref(n)
	*dst = nil
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return f.errorf(n, key, "must be a list of {%s}, not a %s", strings.Join(keys, ", "), kind(n))
	}
	for i, item := range n.Content {
		var v T
		ikey := fmt.Sprintf("%s[%d]", key, i)
		err := f.strings(item, ikey, keys, fields(&v), check)
		if err == nil {
			if msg := missing(v); msg != "" {
				err = f.errorf(item, ikey, "%s", msg)
			}
		}
		if err != nil {
			return err
		}
		*dst = append(*dst, v)
	}
	return nil
}

// strings reads a mapping of single values into fields, refusing a value check finds wrong.
func (f *fileDecoder) strings(n *yaml.Node, key string, keys []string, fields map[string]*string, check func(member, value string) string) error {
	return f.members(n, key, keys, func(key string, k, v *yaml.Node) error {
		s, err := f.scalar(v, key)
		if err != nil {
			return err
		}
		if msg := check(k.Value, s); msg != "" {
			return f.errorf(v, key, "%s", msg)
		}
		*fields[k.Value] = s
		return nil
	})
}
