package registry

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Stats counts what Parse read: every key and value of the hive, the events
// emitted, and the damaged structures skipped.
type Stats struct {
	Keys, Values, Records, Errors int64
}

// Hive kinds returned by Kind.
const (
	KindSystem   = "SYSTEM"
	KindSoftware = "SOFTWARE"
	KindSAM      = "SAM"
	KindSecurity = "SECURITY"
	KindNTUser   = "NTUSER"
	KindUsrClass = "USRCLASS"
	KindAmcache  = "AMCACHE"
	KindUnknown  = "unknown"
)

// Kind names the hive by what its root holds, not by its file name (which
// collected evidence often loses).
func (h *Hive) Kind() string { return h.kind }

func (h *Hive) detectKind() string {
	root := h.Root()
	sks, _ := root.Subkeys()
	has := map[string]bool{}
	for _, sk := range sks {
		has[strings.ToLower(sk.Name())] = true
	}
	switch {
	case has["select"] && hasControlSet(has):
		return KindSystem
	case has["sam"] && !has["policy"]:
		if _, ok := root.Open(`SAM\Domains`); ok {
			return KindSAM
		}
	case has["policy"]:
		return KindSecurity
	case has["root"]:
		r, _ := root.Subkey("Root")
		for _, n := range []string{"File", "InventoryApplicationFile", "Programs", "InventoryApplication"} {
			if _, ok := r.Subkey(n); ok {
				return KindAmcache
			}
		}
	}
	switch {
	case has["software"] && (has["control panel"] || has["environment"] || has["appevents"]):
		return KindNTUser
	case has["microsoft"] && (has["classes"] || has["policies"]):
		if _, ok := root.Open(`Microsoft\Windows NT\CurrentVersion`); ok {
			return KindSoftware
		}
	case has["local settings"] || (has["clsid"] && !has["microsoft"]):
		return KindUsrClass
	}
	return KindUnknown
}

func hasControlSet(has map[string]bool) bool {
	for n := range has {
		if strings.HasPrefix(n, "controlset") {
			return true
		}
	}
	return false
}

// rootPath is how event paths of this hive begin.
func (h *Hive) rootPath(user string) string {
	switch h.kind {
	case KindSystem, KindSoftware, KindSAM, KindSecurity:
		return `HKLM\` + h.kind
	case KindNTUser:
		if user != "" {
			return `HKU\` + user
		}
		return `HKCU`
	case KindUsrClass:
		if user != "" {
			return `HKU\` + user + `_Classes`
		}
		return `HKCU\Software\Classes`
	case KindAmcache:
		return `Amcache`
	}
	return h.Root().Name()
}

// emitter stamps common fields and counts records.
type emitter struct {
	ctx  context.Context
	sink event.Sink
	st   *Stats
	user string
	root string // path prefix, e.g. HKLM\SYSTEM

	nDamaged int64
	damage   []error // the first maxDamage of them
}

// maxDamage caps the damage errors kept for the source's error text: a
// truncated hive can break thousands of cells, and the count says the rest.
const maxDamage = 5

func (em *emitter) emit(e *event.Event) error {
	if e.User == "" {
		e.User = em.user
	}
	if e.Record == 0 {
		e.Record = -1
	}
	em.st.Records++
	return em.sink.Emit(e)
}

// damaged records a structure that could not be read; parsing goes on.
func (em *emitter) damaged(err error) {
	em.st.Errors++
	em.nDamaged++
	if len(em.damage) < maxDamage {
		em.damage = append(em.damage, err)
	}
}

// damageError sums up what damaged recorded, or nil.
func (em *emitter) damageError() error {
	if em.nDamaged == 0 {
		return nil
	}
	shown := ""
	if em.nDamaged > int64(len(em.damage)) {
		shown = fmt.Sprintf(" (the first %d follow)", len(em.damage))
	}
	return fmt.Errorf("%s%s: %w", event.Count(em.nDamaged, "damaged structure"), shown, errors.Join(em.damage...))
}

func (em *emitter) path(rel string) string {
	if rel == "" {
		return em.root
	}
	return em.root + `\` + rel
}

// Parse emits every event of this hive: key last-write times of the keys of
// interest and the artifacts its kind holds. user is the profile name for
// NTUSER and UsrClass hives. A dirty hive that could not be recovered is
// parsed as it is and reported with an error wrapping ErrDirty.
func (h *Hive) Parse(ctx context.Context, user string, sink event.Sink) (st Stats, err error) {
	return h.parse(ctx, user, sink, h.parts())
}

// parts are the artifacts a hive of this kind holds, in the order they
// are emitted.
func (h *Hive) parts() []func(*emitter) error {
	switch h.kind {
	case KindSystem:
		return []func(*emitter) error{h.systemKeys, h.shimcache, h.bam}
	case KindSoftware:
		return []func(*emitter) error{h.softwareKeys}
	case KindNTUser:
		return []func(*emitter) error{h.ntuserKeys, h.userassist}
	case KindAmcache:
		return []func(*emitter) error{h.amcache}
	}
	return nil
}

func (h *Hive) parse(ctx context.Context, user string, sink event.Sink, parts []func(*emitter) error) (st Stats, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("registry %s hive: parser panic: %v\n%s", h.kind, r, debug.Stack())
			st.Errors++
		}
	}()
	em := &emitter{ctx: ctx, sink: sink, st: &st, user: user, root: h.rootPath(user)}
	n := 0
	werr := h.Walk(func(path string, k Key) error {
		st.Keys++
		vs, err := k.Values()
		if err != nil {
			em.damaged(fmt.Errorf("%s: %w", path, err))
		}
		st.Values += int64(len(vs))
		if n++; n%4096 == 0 {
			return ctx.Err()
		}
		return nil
	}, em.damaged)
	if werr != nil {
		return st, fmt.Errorf("registry %s hive: %w", h.kind, werr)
	}
	var broken []error
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		panicked, err := runPart(p, em)
		if panicked {
			// One artifact's bug must not cost the hive's others (a
			// SYSTEM hive's BAM after its ShimCache).
			st.Errors++
			broken = append(broken, err)
			continue
		}
		if err != nil {
			return st, fmt.Errorf("registry %s hive: %w", h.kind, err)
		}
	}
	if derr := em.damageError(); derr != nil {
		broken = append(broken, derr)
	}
	if derr := h.DirtyError(); derr != nil {
		st.Errors++
		broken = append(broken, derr)
	}
	if len(broken) > 0 {
		return st, fmt.Errorf("registry %s hive: %w", h.kind, errors.Join(broken...))
	}
	return st, nil
}

// runPart runs one artifact of a hive, turning a panic into an error.
func runPart(p func(*emitter) error, em *emitter) (panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked, err = true, fmt.Errorf("parser panic: %v\n%s", r, debug.Stack())
		}
	}()
	return false, p(em)
}

// subkeysOf lists a key's subkeys, counting damage.
func (em *emitter) subkeysOf(k Key) []Key {
	sks, err := k.Subkeys()
	if err != nil {
		em.damaged(err)
	}
	return sks
}

func (em *emitter) valuesOf(k Key) []Value {
	vs, err := k.Values()
	if err != nil {
		em.damaged(err)
	}
	return vs
}

// keyEvent is the common shape of a `registry` event for one key.
func keyEvent(typ, path string, k Key) *event.Event {
	return &event.Event{
		Time:     k.LastWrite(),
		TimeDesc: "Key last written",
		Artifact: event.Registry,
		Type:     typ,
		Path:     path,
		Record:   -1,
		Offset:   k.Offset(),
	}
}

// str returns a string value of k, or "".
func str(k Key, name string) string {
	if v, ok := k.Value(name); ok {
		return strings.TrimSpace(v.String())
	}
	return ""
}

func num(k Key, name string) (uint64, bool) {
	if v, ok := k.Value(name); ok {
		return v.Uint()
	}
	return 0, false
}
