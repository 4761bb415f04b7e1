package registry

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

const userAssistPath = `Software\Microsoft\Windows\CurrentVersion\Explorer\UserAssist`

// rot13 undoes UserAssist's value-name obfuscation.
func rot13(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}

// userassist emits one event per UserAssist\{GUID}\Count value. Windows 7+
// data is 72 bytes (run count at 4, focus count at 8, focus time in ms at
// 12, last run at 60); XP data is 16 bytes (run count at 4, offset by 5,
// last run at 8). The UEME_CTLSESSION bookkeeping values are skipped.
func (h *Hive) userassist(em *emitter) error {
	ua, ok := h.Root().Open(userAssistPath)
	if !ok {
		return nil
	}
	for _, g := range em.subkeysOf(ua) {
		cnt, ok := g.Subkey("Count")
		if !ok {
			continue
		}
		guid := g.Name()
		for _, v := range em.valuesOf(cnt) {
			name := rot13(v.Name())
			if strings.HasPrefix(name, "UEME_CTLSESSION") {
				continue
			}
			d, err := v.Data()
			if err != nil {
				em.damaged(err)
				continue
			}
			e := &event.Event{
				TimeDesc: "Last run (UserAssist)",
				Artifact: event.UserAssist,
				Type:     "entry",
				Path:     name,
				Record:   -1,
				Offset:   -1,
			}
			e.Add("name", name).Add("guid", guid)
			var runs, focus, focusMS uint32
			switch {
			case len(d) >= 68:
				runs = binary.LittleEndian.Uint32(d[4:])
				focus = binary.LittleEndian.Uint32(d[8:])
				focusMS = binary.LittleEndian.Uint32(d[12:])
				e.Time = event.FileTime(binary.LittleEndian.Uint64(d[60:]))
				e.Add("run_count", runs).Add("focus_count", focus).Add("focus_time_ms", focusMS)
			case len(d) == 16:
				runs = binary.LittleEndian.Uint32(d[4:])
				if runs >= 5 {
					runs -= 5
				}
				e.Time = event.FileTime(binary.LittleEndian.Uint64(d[8:]))
				e.Add("run_count", runs)
			default:
				em.damaged(fmt.Errorf("userassist %s: %d bytes of data", name, len(d)))
				continue
			}
			if e.Time != 0 {
				e.Add("last_run", e.Time)
			}
			e.Add("key", em.path(userAssistPath+`\`+guid+`\Count`))
			e.Message = fmt.Sprintf("UserAssist: %s run %s", name, event.Times(int64(runs)))
			if err := em.emit(e); err != nil {
				return err
			}
		}
	}
	return nil
}
