package registry

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// bam emits Background/Desktop Activity Moderator entries of the current
// control set: bam and dam, under State\UserSettings (1809+) and the older
// UserSettings. Each value is a device path whose data starts with the
// FILETIME of the last execution.
func (h *Hive) bam(em *emitter) error {
	cs, csName, ok := h.currentControlSet()
	if !ok {
		return nil
	}
	for _, svc := range []string{"bam", "dam"} {
		for _, sub := range []string{`State\UserSettings`, `UserSettings`} {
			rel := `Services\` + svc + `\` + sub
			us, ok := cs.Open(rel)
			if !ok {
				continue
			}
			for _, sk := range em.subkeysOf(us) {
				sid := sk.Name()
				for _, v := range em.valuesOf(sk) {
					name := v.Name()
					if strings.EqualFold(name, "Version") || strings.EqualFold(name, "SequenceNumber") {
						continue
					}
					d, err := v.Data()
					if err != nil || len(d) < 8 {
						em.damaged(fmt.Errorf("%s\\%s value %q: no FILETIME", rel, sid, name))
						continue
					}
					ft := event.FileTime(binary.LittleEndian.Uint64(d))
					e := &event.Event{
						Time:     ft,
						TimeDesc: "Last execution (" + strings.ToUpper(svc) + ")",
						Artifact: event.BAM,
						Type:     "execution",
						User:     sid,
						Path:     name,
						Record:   -1,
						Offset:   -1,
					}
					e.Add("path", name).Add("sid", sid).Add("service", svc).Add("key", em.path(csName+`\`+rel+`\`+sid))
					e.Message = fmt.Sprintf("%s: %s last executed by %s", strings.ToUpper(svc), name, sid)
					if err := em.emit(e); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
