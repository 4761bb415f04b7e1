package registry

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

const taskCachePath = `Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache`

// taskCache emits TaskCache\Tree entries (one per task or folder key, with
// the task's Id) and TaskCache\Tasks\{GUID} entries with decoded actions.
func (h *Hive) taskCache(em *emitter) error {
	tc, ok := h.Root().Open(taskCachePath)
	if !ok {
		return nil
	}
	if tree, ok := tc.Subkey("Tree"); ok {
		if err := h.taskTree(em, tree, "", 0); err != nil {
			return err
		}
	}
	tasks, ok := tc.Subkey("Tasks")
	if !ok {
		return nil
	}
	for _, tk := range em.subkeysOf(tasks) {
		id := tk.Name()
		p := str(tk, "Path")
		e := keyEvent("taskcache", em.path(taskCachePath+`\Tasks\`+id), tk)
		e.Add("kind", "task").Add("task_id", id)
		if p != "" {
			e.Add("task_name", p[strings.LastIndex(p, `\`)+1:]).Add("path", p)
		}
		var acts []string
		if v, ok := tk.Value("Actions"); ok {
			if d, err := v.Data(); err == nil {
				acts = decodeTaskActions(d)
			}
		}
		if len(acts) > 0 {
			e.Add("actions", strings.Join(acts, "; "))
		}
		if v, ok := tk.Value("DynamicInfo"); ok {
			if d, err := v.Data(); err == nil && len(d) >= 20 {
				if c := binary.LittleEndian.Uint64(d[4:]); c != 0 {
					e.Add("created", event.FileTime(c))
				}
				if r := binary.LittleEndian.Uint64(d[12:]); r != 0 {
					e.Add("last_run", event.FileTime(r))
				}
			}
		}
		e.Message = fmt.Sprintf("Scheduled task %s %s", p, id)
		if len(acts) > 0 {
			e.Message += ": " + strings.Join(acts, "; ")
		}
		if err := em.emit(e); err != nil {
			return err
		}
	}
	return nil
}

func (h *Hive) taskTree(em *emitter, k Key, rel string, depth int) error {
	if depth > 32 {
		em.damaged(fmt.Errorf("task tree deeper than 32 at %s", rel))
		return nil
	}
	for _, sk := range em.subkeysOf(k) {
		name := sk.Name()
		p := rel + `\` + name
		id := str(sk, "Id")
		if id != "" {
			e := keyEvent("taskcache", em.path(taskCachePath+`\Tree`+p), sk)
			e.Add("kind", "tree").Add("task_name", name).Add("path", p).Add("task_id", id)
			e.Message = fmt.Sprintf("Scheduled task %s %s", p, id)
			if err := em.emit(e); err != nil {
				return err
			}
		}
		if err := h.taskTree(em, sk, p, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// decodeTaskActions reads the TaskCache Actions blob: a version, (from
// version 2) the principal id, then typed actions. Exec (0x6666) and
// ComHandler (0x7777) are decoded; decoding stops at anything else.
func decodeTaskActions(d []byte) []string {
	r := blobReader{b: d}
	ver, ok := r.u16()
	if !ok || ver == 0 || ver > 3 {
		return nil
	}
	if ver >= 2 {
		if _, ok := r.str(); !ok {
			return nil
		}
	}
	var out []string
	for len(out) < 32 {
		magic, ok := r.u16()
		if !ok {
			break
		}
		switch magic {
		case 0x6666:
			_, ok1 := r.u32str() // action id
			cmd, ok2 := r.u32str()
			args, ok3 := r.u32str()
			wd, ok4 := r.u32str()
			if !(ok1 && ok2 && ok3 && ok4) {
				return out
			}
			if ver >= 3 {
				r.u16()
			}
			s := strings.TrimSpace(cmd + " " + args)
			if wd != "" {
				s += " (in " + wd + ")"
			}
			out = append(out, s)
		case 0x7777:
			if _, ok := r.u32str(); !ok {
				return out
			}
			clsid, ok := r.bytes(16)
			if !ok {
				return out
			}
			data, _ := r.u32str()
			s := "COM " + guidString(clsid)
			if data != "" {
				s += " " + data
			}
			out = append(out, s)
		default:
			return out
		}
	}
	return out
}

type blobReader struct {
	b   []byte
	off int
}

func (r *blobReader) bytes(n int) ([]byte, bool) {
	if n < 0 || r.off+n > len(r.b) {
		return nil, false
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, true
}

func (r *blobReader) u16() (uint16, bool) {
	b, ok := r.bytes(2)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b), true
}

// u32str is a UTF-16LE string prefixed by its byte length.
func (r *blobReader) u32str() (string, bool) {
	b, ok := r.bytes(4)
	if !ok {
		return "", false
	}
	n := binary.LittleEndian.Uint32(b)
	if n > 1<<16 {
		return "", false
	}
	s, ok := r.bytes(int(n))
	if !ok {
		return "", false
	}
	return utf16z(s), true
}

func (r *blobReader) str() (string, bool) { return r.u32str() }

func guidString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}", binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}
