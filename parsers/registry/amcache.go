package registry

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/foothold/foothold/parsers/event"
)

// amcache emits one event per file of Root\InventoryApplicationFile (Windows
// 10+) and of the older Root\File\{volume}\{file reference} layout (Windows
// 8 and early 10). Time is the key's last-write time, when Windows recorded
// the file; link_date is the PE header's compile time.
func (h *Hive) amcache(em *emitter) error {
	root, ok := h.Root().Subkey("Root")
	if !ok {
		return nil
	}
	if iaf, ok := root.Subkey("InventoryApplicationFile"); ok {
		for _, k := range em.subkeysOf(iaf) {
			f := amFile{
				path:      str(k, "LowerCaseLongPath"),
				sha1:      sha1Field(str(k, "FileId")),
				publisher: str(k, "Publisher"),
				product:   str(k, "ProductName"),
				version:   str(k, "Version"),
				name:      str(k, "Name"),
				programID: str(k, "ProgramId"),
			}
			if f.version == "" {
				f.version = str(k, "BinFileVersion")
			}
			if s := str(k, "Size"); s != "" {
				if n, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64); err == nil && strings.HasPrefix(s, "0x") {
					f.size, f.hasSize = n, true
				} else if n, err := strconv.ParseUint(s, 10, 64); err == nil {
					f.size, f.hasSize = n, true
				}
			} else if n, ok := num(k, "Size"); ok {
				f.size, f.hasSize = n, true
			}
			if ld := str(k, "LinkDate"); ld != "" {
				if t, err := time.Parse("01/02/2006 15:04:05", ld); err == nil {
					f.linkDate = event.FromTime(t)
				}
			}
			if err := em.amEvent(`Root\InventoryApplicationFile\`+k.Name(), k, f); err != nil {
				return err
			}
		}
	}
	if files, ok := root.Subkey("File"); ok {
		for _, vol := range em.subkeysOf(files) {
			for _, k := range em.subkeysOf(vol) {
				f := amFile{
					path:      str(k, "15"),
					sha1:      sha1Field(str(k, "101")),
					publisher: str(k, "1"),
					product:   str(k, "0"),
					version:   str(k, "5"),
					programID: str(k, "100"),
					volume:    vol.Name(),
				}
				if n, ok := num(k, "6"); ok {
					f.size, f.hasSize = n, true
				}
				if n, ok := num(k, "f"); ok {
					f.linkDate = unixTime(n)
				}
				if n, ok := num(k, "17"); ok {
					f.modified = event.FileTime(n)
				}
				if err := em.amEvent(`Root\File\`+vol.Name()+`\`+k.Name(), k, f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

type amFile struct {
	path, sha1, publisher, product, version, name, programID, volume string
	size                                                             uint64
	hasSize                                                          bool
	linkDate, modified                                               event.FileTime
}

// sha1Field strips the four zero digits Windows prefixes to the SHA-1.
func sha1Field(s string) string {
	if len(s) == 44 && strings.HasPrefix(s, "0000") {
		return s[4:]
	}
	return s
}

func (em *emitter) amEvent(rel string, k Key, f amFile) error {
	e := keyEvent("file", em.path(rel), k)
	e.Artifact = event.Amcache
	e.TimeDesc = "Key last written (Amcache)"
	e.Path = f.path
	e.Add("path", f.path).Add("key", em.path(rel))
	for _, kv := range [][2]string{{"sha1", f.sha1}, {"publisher", f.publisher}, {"product", f.product},
		{"version", f.version}, {"name", f.name}, {"program_id", f.programID}, {"volume", f.volume}} {
		if kv[1] != "" {
			e.Add(kv[0], kv[1])
		}
	}
	if f.hasSize {
		e.Add("size", f.size)
	}
	if f.linkDate != 0 {
		e.Add("link_date", f.linkDate)
	}
	if f.modified != 0 {
		e.Add("last_modified", f.modified)
	}
	e.Message = "Amcache file " + f.path
	if f.sha1 != "" {
		e.Message += fmt.Sprintf(" (SHA-1 %s)", f.sha1)
	}
	return em.emit(e)
}
