package disk

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

func ft(t testing.TB, s string) event.FileTime {
	t.Helper()
	v, err := event.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fill is deterministic non-compressible content: SHA-256 in counter mode.
func fill(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	for i := 0; len(out) < n; i++ {
		s := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", seed, i)))
		out = append(out, s[:]...)
	}
	return out[:n]
}

// entryWant is what an entry must look like in the finished image.
type entryWant struct {
	path    string // Windows path
	si, fn  Times  // all four of each are checked
	deleted bool
	dir     bool
}

// usnWant is one USN record the image must hold, in journal order.
type usnWant struct {
	path   string // the entry the record is about (for its reference)
	parent string // its parent directory
	name   string
	reason uint32
	at     event.FileTime
}

type scenario struct {
	spec    Spec
	entries []entryWant
	usns    []usnWant
	journal entryWant // $Extend\$UsnJrnl (no unnamed $DATA, so checked by istat only)
}

const (
	zoneID = "[ZoneTransfer]\r\nZoneId=3\r\nReferrerUrl=https://www.3cx.com/\r\nHostUrl=https://download.3cx.com/3CXDesktopApp-18.12.416.msi\r\n"
)

// testScenario covers every op kind. The expected times follow the table
// in the package comment; every one is checked against TSK's istat and fls.
func testScenario(t testing.TB, scheme string) scenario {
	all := func(v event.FileTime) Times { return Times{v, v, v, v} }
	var (
		F   = ft(t, "2023-01-01T00:00:00Z")
		J   = ft(t, "2023-01-01T00:00:05Z")
		T1  = ft(t, "2023-03-01T09:00:00.1234567Z")
		T2  = ft(t, "2023-03-01T09:10:00.0000001Z")
		T3  = ft(t, "2023-03-01T09:20:00.9999999Z")
		T4  = ft(t, "2023-03-01T10:00:00.5Z")
		T5  = ft(t, "2023-03-01T10:01:02.0345678Z")
		T6  = ft(t, "2023-03-01T10:05:00Z")
		T7  = ft(t, "2023-03-01T10:06:00.7654321Z")
		T8  = ft(t, "2023-03-01T10:08:00.0000007Z")
		T9  = ft(t, "2023-03-01T10:09:00Z")
		T10 = ft(t, "2023-03-01T10:09:30.123456Z")
		T11 = ft(t, "2023-03-01T10:10:00Z")
		T12 = ft(t, "2023-03-01T10:12:00Z")
		T13 = ft(t, "2023-03-01T10:15:00.0000009Z")

		stomp    = ft(t, "2018-06-01T12:00:00.5Z")
		oldB     = ft(t, "2019-12-07T09:14:00Z")
		oldM     = ft(t, "2019-12-07T09:14:00.0000001Z")
		oldA     = ft(t, "2020-01-01T00:00:00Z")
		oldFNM   = ft(t, "2017-01-01T00:00:00Z")
		touchM   = ft(t, "2022-12-24T18:00:00.123Z")
		touchA   = ft(t, "2022-12-25T08:30:00.9999999Z")
		downDir  = `\Users\a.reyes\Downloads`
		msi      = downDir + `\3CXDesktopApp-18.12.416.msi`
		resume   = `\Users\a.reyes\Documents\Résumé 日本.txt`
		notes    = `\Users\a.reyes\notes.txt`
		tempDir  = `\Windows\Temp`
		userTemp = `\Users\a.reyes\AppData\Local\Temp`
	)
	const (
		create = ReasonFileCreate | ReasonDataExtend | ReasonClose
	)
	spec := Spec{
		Size:      16 << 20,
		Label:     "FOOTHOLD",
		Serial:    0x1A2B3C4D5E6F7081,
		Formatted: F,
		Scheme:    scheme,
		Journal:   &Journal{Created: J, MaxSize: 32 << 20},
		Ops: []Op{
			{Kind: OpMkdir, Path: downDir, At: T1},
			{Kind: OpMkdir, Path: tempDir, At: T1},
			{Kind: OpFile, Path: notes, At: T2, Data: []byte("meeting at 10\r\n")},
			{Kind: OpAppend, Path: notes, At: T3, Data: []byte("bring badge\r\n")},
			{Kind: OpFile, Path: msi, At: T4, Data: fill("msi", 30000)},
			{Kind: OpADS, Path: msi + ":Zone.Identifier", At: T4, Data: []byte(zoneID)},
			{Kind: OpUSN, Path: msi, At: T4, Reason: create | ReasonNamedDataExtend},
			{Kind: OpFile, Path: resume, At: T5, Data: []byte("CV\n"), DosName: "RESUME~1.TXT"},
			{Kind: OpUSN, Path: resume, At: T5, Reason: create},
			{Kind: OpFile, Path: tempDir + `\payload.tmp`, At: T6, Data: fill("payload", 20000)},
			{Kind: OpFile, Path: userTemp + `\7zS1\x.bin`, At: T6, Data: []byte("x")},
			{Kind: OpUSN, Path: tempDir + `\payload.tmp`, At: T7, Reason: ReasonRenameOldName},
			{Kind: OpMove, Path: tempDir + `\payload.tmp`, To: tempDir + `\svchost.exe`, At: T7},
			{Kind: OpUSN, Path: tempDir + `\svchost.exe`, At: T7, Reason: ReasonRenameNewName | ReasonClose, Attrs: 0x20},
			{Kind: OpFile, Path: tempDir + `\helper.dll`, At: T8, Data: make([]byte, 5000)},
			{Kind: OpRawTimes, Path: tempDir + `\helper.dll`, At: T8, SI: all(stomp)},
			{Kind: OpFile, Path: tempDir + `\old.dat`, At: T9, Data: []byte("x")},
			{Kind: OpSetTimes, Path: tempDir + `\old.dat`, At: T10, SI: Times{B: oldB, M: oldM, A: oldA}},
			{Kind: OpRawTimes, Path: tempDir + `\old.dat`, FN: Times{M: oldFNM}},
			{Kind: OpTouch, Path: resume, At: T11, SI: Times{M: touchM, A: touchA}},
			{Kind: OpWrite, Path: notes, At: T12, Data: []byte("replaced\r\n")},
			{Kind: OpUSN, Path: msi, At: T13, Reason: ReasonFileDelete | ReasonClose},
			{Kind: OpDelete, Path: msi, At: T13},
			{Kind: OpDelete, Path: userTemp + `\7zS1`, At: T13},
		},
	}
	entries := []entryWant{
		// ntfs-3g writes $MFT's $SI back as zeros when the MFT grows;
		// Build restores the format time.
		{path: `\$MFT`, si: all(F), fn: all(F)},
		{path: `\Users`, si: all(T1), fn: all(T1), dir: true},
		{path: `\Users\a.reyes`, si: Times{T1, T6, T6, T1}, fn: all(T1), dir: true},
		{path: downDir, si: Times{T1, T13, T13, T1}, fn: all(T1), dir: true},
		{path: `\Users\a.reyes\Documents`, si: all(T5), fn: all(T5), dir: true},
		{path: notes, si: Times{T2, T12, T12, T2}, fn: all(T2)},
		{path: msi, si: all(T4), fn: all(T4), deleted: true},
		{path: resume, si: Times{T5, touchM, T11, touchA}, fn: all(T5)},
		{path: `\Windows`, si: all(T1), fn: all(T1), dir: true},
		{path: tempDir, si: Times{T1, T9, T9, T1}, fn: all(T1), dir: true},
		{path: tempDir + `\svchost.exe`, si: Times{T6, T6, T7, T6}, fn: all(T6)},
		{path: tempDir + `\helper.dll`, si: all(stomp), fn: all(T8)},
		{path: tempDir + `\old.dat`, si: Times{oldB, oldM, T10, oldA}, fn: Times{oldB, oldFNM, T10, oldA}},
		{path: userTemp, si: Times{T6, T13, T13, T6}, fn: all(T6), dir: true},
		// Deleting 7zS1 removes x.bin first, which stamps 7zS1 itself.
		{path: userTemp + `\7zS1`, si: Times{T6, T13, T13, T6}, fn: all(T6), dir: true, deleted: true},
		{path: userTemp + `\7zS1\x.bin`, si: all(T6), fn: all(T6), deleted: true},
	}
	usns := []usnWant{
		{path: msi, parent: downDir, name: "3CXDesktopApp-18.12.416.msi", reason: create | ReasonNamedDataExtend, at: T4},
		{path: resume, parent: `\Users\a.reyes\Documents`, name: "Résumé 日本.txt", reason: create, at: T5},
		{path: tempDir + `\svchost.exe`, parent: tempDir, name: "payload.tmp", reason: ReasonRenameOldName, at: T7},
		{path: tempDir + `\svchost.exe`, parent: tempDir, name: "svchost.exe", reason: ReasonRenameNewName | ReasonClose, at: T7},
		{path: msi, parent: downDir, name: "3CXDesktopApp-18.12.416.msi", reason: ReasonFileDelete | ReasonClose, at: T13},
	}
	journal := entryWant{path: `\$Extend\$UsnJrnl`, si: Times{J, T13, T13, J}, fn: all(J)}
	return scenario{spec: spec, entries: entries, usns: usns, journal: journal}
}
