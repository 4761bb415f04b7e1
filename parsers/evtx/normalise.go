package evtx

import (
	"math/bits"
	"strconv"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// slot is a normalised field. The order of the constants is the order of
// the fields in events.
type slot int

const (
	sLogonType slot = iota
	sLogonID
	sTargetLogonID
	sSubjectUser
	sTargetUser
	sTargetDomain
	sSrcIP
	sSrcPort
	sWorkstation
	sTargetServer
	sTargetInfo
	sAuthPackage
	sLogonProcess
	sKeyLength
	sProcess
	sProcessID
	sParentProcess
	sCommandLine
	sServiceName
	sImagePath
	sShareName
	sRelativeTarget
	sAccessMask
	sTaskName
	sTaskContent
	sPipeName
	sDstIP
	sDstPort
	nSlots
)

var slotNames = [nSlots]string{
	"logon_type", "logon_id", "target_logon_id", "subject_user", "target_user", "target_domain",
	"src_ip", "src_port", "workstation", "target_server", "target_info", "auth_package",
	"logon_process", "key_length", "process", "process_id", "parent_process", "command_line",
	"service_name", "image_path", "share_name", "relative_target", "access_mask", "task_name",
	"task_content", "pipe_name", "dst_ip", "dst_port",
}

// norm holds the normalised values of one event: strings, except
// logon_type, key_length and the ports (int) and process_id (int64).
type norm struct {
	s   [nSlots]string
	n   [nSlots]int64
	set uint32
}

func (n *norm) has(s slot) bool { return n.set&(1<<s) != 0 }

func (n *norm) str(s slot, v string) {
	if v == "" {
		return
	}
	n.s[s] = v
	n.set |= 1 << s
}

func (n *norm) num(s slot, v int64, ok bool) {
	if !ok {
		return
	}
	n.n[s] = v
	n.set |= 1 << s
}

func (n *norm) get(s slot) string { return n.s[s] }

// Providers whose event IDs the tables below know.
const (
	pOther = iota
	pSecurity
	pEventlog
	pSCM
	pSysmon
	pTaskScheduler
	pLSM
	pRCM
	pRDPClient
	pRdpCoreTS
	pWinRM
	pWMI
	pPowerShell
	pPowerShellClassic
	pDCOM
)

var providers = map[string]int{
	"Microsoft-Windows-Security-Auditing":                        pSecurity,
	"Microsoft-Windows-Eventlog":                                 pEventlog,
	"Service Control Manager":                                    pSCM,
	"Microsoft-Windows-Sysmon":                                   pSysmon,
	"Microsoft-Windows-TaskScheduler":                            pTaskScheduler,
	"Microsoft-Windows-TerminalServices-LocalSessionManager":     pLSM,
	"Microsoft-Windows-TerminalServices-RemoteConnectionManager": pRCM,
	"Microsoft-Windows-TerminalServices-ClientActiveXCore":       pRDPClient,
	"Microsoft-Windows-RemoteDesktopServices-RdpCoreTS":          pRdpCoreTS,
	"Microsoft-Windows-WinRM":                                    pWinRM,
	"Microsoft-Windows-WMI-Activity":                             pWMI,
	"Microsoft-Windows-PowerShell":                               pPowerShell,
	"PowerShell":                                                 pPowerShellClassic,
	"Microsoft-Windows-DistributedCOM":                           pDCOM,
	"Microsoft-Windows-TerminalServices-RDPClient":               pRDPClient,
}

// isEmpty reports the markers Windows writes for "no value".
func isEmpty(s string) bool {
	switch s {
	case "", "-", "NULL", "(NULL)", "S-1-0-0", "{00000000-0000-0000-0000-000000000000}":
		return true
	}
	return false
}

// account joins DOMAIN\user, leaving out empty parts.
func account(domain, user string) string {
	user = strings.TrimSpace(user)
	domain = strings.TrimSpace(domain)
	if isEmpty(user) {
		return ""
	}
	if isEmpty(domain) || strings.ContainsRune(user, '\\') {
		return user
	}
	return domain + `\` + user
}

// ip normalises an address: "-" is empty, "::ffff:a.b.c.d" loses its
// prefix; loopback addresses stay as they are.
func ip(s string) string {
	s = strings.TrimSpace(s)
	if isEmpty(s) || s == "0.0.0.0" {
		return ""
	}
	if len(s) > 7 && strings.EqualFold(s[:7], "::ffff:") && strings.IndexByte(s[7:], '.') > 0 {
		return s[7:]
	}
	return s
}

// number parses decimal or 0x-hex.
func number(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return 0, false
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		return int64(v), err == nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// logonID renders a logon id as lower-case hex without padding, whatever
// the renderer wrote (0x3e7, 0x00000000000003e7, 999).
func logonID(s string) string {
	v, ok := number(s)
	if !ok {
		return ""
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

// hostPort splits "ip:port" (RdpCoreTS ClientIP) and "[v6]:port".
func hostPort(s string) (string, string) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]:"); i > 0 {
			return s[1:i], s[i+2:]
		}
		return strings.Trim(s, "[]"), ""
	}
	if strings.Count(s, ":") == 1 {
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:]
	}
	return s, ""
}

// normalise fills n from the record: first by data name (the Security
// auditing names, which other providers reuse with the same meaning),
// then per provider for names that mean different things elsewhere.
func normalise(rec *record, prov int, n *norm) {
	var subjUser, subjDom, tgtUser, tgtDom string
	for _, d := range rec.data {
		v := d.val
		switch d.key {
		case "SubjectUserName":
			subjUser = v
		case "SubjectDomainName":
			subjDom = v
		case "SubjectLogonId":
			n.str(sLogonID, logonID(v))
		case "TargetUserName":
			tgtUser = v
		case "TargetDomainName":
			tgtDom = v
		case "TargetLogonId":
			n.str(sTargetLogonID, logonID(v))
		case "LogonType":
			x, ok := number(v)
			n.num(sLogonType, x, ok)
		case "IpAddress":
			n.str(sSrcIP, ip(v))
		case "IpPort":
			x, ok := number(v)
			n.num(sSrcPort, x, ok && x > 0)
		case "WorkstationName", "Workstation":
			if !isEmpty(v) {
				n.str(sWorkstation, strings.TrimSpace(v))
			}
		case "TargetServerName":
			if !isEmpty(v) {
				n.str(sTargetServer, v)
			}
		case "TargetInfo":
			if !isEmpty(v) {
				n.str(sTargetInfo, v)
			}
		case "AuthenticationPackageName":
			if !isEmpty(v) {
				n.str(sAuthPackage, v)
			}
		case "LogonProcessName":
			if v = strings.TrimSpace(v); !isEmpty(v) {
				n.str(sLogonProcess, v)
			}
		case "KeyLength":
			x, ok := number(v)
			n.num(sKeyLength, x, ok)
		case "ProcessName", "NewProcessName":
			if !isEmpty(v) {
				n.str(sProcess, v)
			}
		case "ProcessId", "NewProcessId":
			if !n.has(sProcessID) || d.key == "NewProcessId" {
				x, ok := number(v)
				n.num(sProcessID, x, ok)
			}
		case "ParentProcessName":
			if !isEmpty(v) {
				n.str(sParentProcess, v)
			}
		case "CommandLine":
			n.str(sCommandLine, v)
		case "ServiceName":
			if !isEmpty(v) {
				n.str(sServiceName, v)
			}
		case "ImagePath", "ServiceFileName":
			n.str(sImagePath, v)
		case "ShareName":
			n.str(sShareName, v)
		case "RelativeTargetName":
			n.str(sRelativeTarget, v)
		case "AccessMask":
			n.str(sAccessMask, v)
		case "TaskName":
			n.str(sTaskName, v)
		case "TaskContent", "TaskContentNew":
			n.str(sTaskContent, v)
		case "PipeName":
			n.str(sPipeName, v)
		}
	}
	n.str(sSubjectUser, account(subjDom, subjUser))
	if u, realm, ok := strings.Cut(tgtUser, "@"); ok && !strings.ContainsRune(tgtUser, '\\') {
		// 4769 writes user@REALM.
		if isEmpty(tgtDom) {
			tgtDom = realm
		}
		tgtUser = u
	}
	n.str(sTargetUser, account(tgtDom, tgtUser))
	if !isEmpty(tgtDom) {
		n.str(sTargetDomain, tgtDom)
	}

	switch prov {
	case pSecurity:
		switch rec.eventID {
		case 4778, 4779:
			n.str(sTargetUser, account(rec.get("AccountDomain"), rec.get("AccountName")))
			n.str(sTargetLogonID, logonID(rec.get("LogonID")))
			if w := rec.get("ClientName"); !isEmpty(w) {
				n.str(sWorkstation, w)
			}
			n.str(sSrcIP, ip(rec.get("ClientAddress")))
		case 5156, 5157:
			n.str(sProcess, rec.get("Application"))
			x, ok := number(rec.get("ProcessID"))
			n.num(sProcessID, x, ok)
			n.str(sSrcIP, ip(rec.get("SourceAddress")))
			x, ok = number(rec.get("SourcePort"))
			n.num(sSrcPort, x, ok)
			n.str(sDstIP, ip(rec.get("DestAddress")))
			x, ok = number(rec.get("DestPort"))
			n.num(sDstPort, x, ok)
		}
	case pSysmon:
		for _, d := range rec.data {
			v := d.val
			switch d.key {
			case "Image", "SourceImage":
				if !n.has(sProcess) {
					n.str(sProcess, v)
				}
			case "ProcessId", "SourceProcessId":
				x, ok := number(v)
				n.num(sProcessID, x, ok)
			case "ParentImage":
				n.str(sParentProcess, v)
			case "User", "SourceUser":
				if !isEmpty(v) && !n.has(sSubjectUser) {
					n.str(sSubjectUser, v)
				}
			case "LogonId":
				n.str(sLogonID, logonID(v))
			case "SourceIp":
				n.str(sSrcIP, ip(v))
			case "SourcePort":
				x, ok := number(v)
				n.num(sSrcPort, x, ok)
			case "DestinationIp":
				n.str(sDstIP, ip(v))
			case "DestinationPort":
				x, ok := number(v)
				n.num(sDstPort, x, ok)
			case "SourceHostname":
				if rec.eventID == 3 && !isEmpty(v) {
					n.str(sWorkstation, v)
				}
			case "DestinationHostname":
				if rec.eventID == 3 && !isEmpty(v) {
					n.str(sTargetServer, v)
				}
			}
		}
	case pLSM:
		if u := rec.get("User"); !isEmpty(u) {
			n.str(sTargetUser, u)
			if dom, _, ok := strings.Cut(u, `\`); ok {
				n.str(sTargetDomain, dom)
			}
		}
		if a := rec.get("Address"); !strings.EqualFold(a, "LOCAL") {
			n.str(sSrcIP, ip(a))
		}
	case pRCM:
		if rec.eventID == 1149 {
			user, dom := rec.get("Param1"), rec.get("Param2")
			n.str(sTargetUser, account(dom, user))
			if !isEmpty(dom) {
				n.str(sTargetDomain, dom)
			}
			n.str(sSrcIP, ip(rec.get("Param3")))
		}
	case pRDPClient:
		switch rec.eventID {
		case 1024, 1102, 1026, 1029:
			if v := rec.get("Value"); !isEmpty(v) {
				n.str(sTargetServer, v)
			}
		}
	case pRdpCoreTS:
		if c := rec.get("ClientIP"); c != "" {
			h, p := hostPort(c)
			n.str(sSrcIP, ip(h))
			x, ok := number(p)
			n.num(sSrcPort, x, ok)
		}
	case pWinRM:
		if c := rec.get("connection"); c != "" {
			h := c
			if i := strings.IndexAny(h, "/?"); i >= 0 {
				h = h[:i]
			}
			h, _ = hostPort(h)
			n.str(sTargetServer, h)
		}
		if u := rec.get("username"); !isEmpty(u) {
			n.str(sTargetUser, u)
		}
		if a := rec.get("authenticationMechanism"); a != "" {
			n.str(sAuthPackage, a)
		}
	case pWMI:
		if u := rec.get("User"); !isEmpty(u) {
			n.str(sSubjectUser, u)
		}
		if c := rec.get("ClientMachine"); !isEmpty(c) {
			n.str(sWorkstation, c)
		}
		for _, k := range []string{"ClientProcessId", "Processid", "ProcessID"} {
			if x, ok := number(rec.get(k)); ok {
				n.num(sProcessID, x, true)
				break
			}
		}
		if h := rec.get("HostProcess"); h != "" {
			n.str(sProcess, h)
		}
	case pTaskScheduler:
		for _, k := range []string{"UserContext", "UserName"} {
			if u := rec.get(k); !isEmpty(u) {
				n.str(sSubjectUser, u)
				break
			}
		}
		if a := rec.get("ActionName"); a != "" && !strings.HasPrefix(a, "{") {
			n.str(sProcess, a)
		}
		if rec.eventID == 129 {
			n.str(sProcess, rec.get("Path"))
		}
		for _, k := range []string{"ProcessID", "EnginePID"} {
			if x, ok := number(rec.get(k)); ok {
				n.num(sProcessID, x, true)
				break
			}
		}
	case pSCM:
		switch rec.eventID {
		case 7036, 7040, 7034, 7031, 7000, 7009, 7011, 7023, 7024:
			if s := rec.get("param1"); s != "" {
				n.str(sServiceName, s)
			} else {
				n.str(sServiceName, rec.get("0"))
			}
		}
	case pPowerShellClassic:
		ctx := rec.get("2")
		if ctx == "" {
			ctx = rec.get("1")
		}
		if v := psField(ctx, "HostApplication"); v != "" {
			n.str(sCommandLine, v)
		}
	case pPowerShell:
		if rec.eventID == 4103 {
			if v := psField(rec.get("ContextInfo"), "Host Application"); v != "" {
				n.str(sCommandLine, v)
			}
			if u := psField(rec.get("ContextInfo"), "User"); u != "" {
				n.str(sSubjectUser, u)
			}
		}
	case pDCOM:
		if rec.eventID == 10016 {
			n.str(sSubjectUser, account(rec.get("param6"), rec.get("param7")))
			n.str(sSrcIP, ip(rec.get("param9")))
		}
	}
}

// psField returns key's value from a PowerShell "key=value" block (one per
// line; 4103 ContextInfo uses "Key = value").
func psField(block, key string) string {
	for block != "" {
		line, rest, _ := strings.Cut(block, "\n")
		block = rest
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// eventNames caches what events repeat: type strings, "data."+name keys
// and the boxed (interface) forms of the System values, which would
// otherwise cost an allocation per field per event. It belongs to one
// scratch, so one goroutine.
type eventNames struct {
	types map[int]string
	keys  map[string]string
	last  [256]struct{ name, key string } // in front of keys
	boxes [nBoxes]boxed[string]
	id    boxed[int]
	task  boxed[int]
	pid   boxed[int64]
	tid   boxed[int64]
}

const (
	bProvider = iota
	bChannel
	bComputer
	bKeywords
	bUserSID
	nBoxes
)

// boxed is the last value boxed for one field: while it repeats, the
// same interface value is handed out and nothing is allocated.
type boxed[T comparable] struct {
	x T
	v any
}

func (b *boxed[T]) box(x T) any {
	if b.v == nil || b.x != x {
		b.x, b.v = x, x
	}
	return b.v
}

func (en *eventNames) typeName(id int) string {
	if s, ok := en.types[id]; ok {
		return s
	}
	s := strconv.Itoa(id)
	if en.types == nil || len(en.types) >= 4096 {
		en.types = make(map[int]string, 64)
	}
	en.types[id] = s
	return s
}

func (en *eventNames) dataKey(name string) string {
	// A record's names are the same strings as the previous record's
	// (they come from the template), which compare at once.
	h := len(name)
	if h > 0 {
		h = h*31 + int(name[0])*7 + int(name[len(name)-1])
	}
	slot := &en.last[h&255]
	if slot.key != "" && slot.name == name {
		return slot.key
	}
	if k, ok := en.keys[name]; ok {
		slot.name, slot.key = name, k
		return k
	}
	k := "data." + name
	if len(name) <= 64 {
		if en.keys == nil || len(en.keys) >= 4096 {
			en.keys = make(map[string]string, 64)
		}
		en.keys[name] = k
	}
	return k
}

// build fills ev from a decoded record.
func (c *chunkRun) build(ev *event.Event, rec *record) {
	p, en := c.p, &c.s.names
	prov, ok := providers[rec.provider]
	if !ok {
		prov = pOther
	}
	// The norm lives in the scratch: message builders take it by
	// pointer through a function value, which would move a local one
	// (some 700 bytes) to the heap for every event.
	n := &c.s.norm
	*n = norm{}
	normalise(rec, prov, n)

	ev.Artifact = event.EVTX
	ev.Type = en.typeName(rec.eventID)
	ev.Time = event.FileTime(rec.created)
	if rec.created == 0 {
		ev.Time = event.FileTime(rec.written)
	}
	ev.Record = int64(rec.id)
	if rec.sysRecordOK {
		// EventRecordID as Windows shows it; it differs from the record
		// header's id only in logs re-written by export tools.
		ev.Record = rec.sysRecord
	}
	ev.Offset = rec.offset
	if p.forwarded || !sameHost(rec.computer, p.storing) {
		ev.Host = rec.computer
	}

	spec := specs[specKey(prov, rec.eventID)]
	ev.TimeDesc = "Event logged"
	if spec.desc != "" {
		ev.TimeDesc = spec.desc
	}
	ev.User = pickUser(n, spec.target)
	ev.Path = pickPath(rec, prov, n)

	fs := c.out.allocFields(15 + bits.OnesCount32(n.set) + len(rec.data))
	fs = append(fs,
		event.Field{Key: "event_id", Value: en.id.box(rec.eventID)},
		event.Field{Key: "provider", Value: en.boxes[bProvider].box(rec.provider)},
		event.Field{Key: "channel", Value: en.boxes[bChannel].box(rec.channel)},
		event.Field{Key: "computer", Value: en.boxes[bComputer].box(rec.computer)},
		event.Field{Key: "record_id", Value: ev.Record},
		event.Field{Key: "level", Value: rec.level},
		event.Field{Key: "task", Value: en.task.box(rec.task)},
		event.Field{Key: "opcode", Value: rec.opcode},
		event.Field{Key: "keywords", Value: en.boxes[bKeywords].box(rec.keywords)},
		event.Field{Key: "user_sid", Value: en.boxes[bUserSID].box(rec.userSID)},
	)
	if rec.pid >= 0 {
		fs = append(fs, event.Field{Key: "exec_process_id", Value: en.pid.box(rec.pid)})
	}
	if rec.tid >= 0 {
		fs = append(fs, event.Field{Key: "thread_id", Value: en.tid.box(rec.tid)})
	}
	if rec.created != 0 && rec.written != 0 && rec.written != rec.created {
		fs = append(fs, event.Field{Key: "written_time", Value: event.FileTime(rec.written)})
	}
	if ev.Record != int64(rec.id) {
		fs = append(fs, event.Field{Key: "header_record_id", Value: rec.id})
	}
	if rec.recovered {
		fs = append(fs, event.Field{Key: "recovered", Value: true})
	}
	for s := slot(0); s < nSlots; s++ {
		if !n.has(s) {
			continue
		}
		switch s {
		case sLogonType, sKeyLength, sSrcPort, sDstPort:
			fs = append(fs, event.Field{Key: slotNames[s], Value: int(n.n[s])})
		case sProcessID:
			fs = append(fs, event.Field{Key: slotNames[s], Value: n.n[s]})
		default:
			fs = append(fs, event.Field{Key: slotNames[s], Value: n.s[s]})
		}
	}
	for i, d := range rec.data {
		v := rec.boxes[i]
		if v == nil {
			v = d.val
		}
		fs = append(fs, event.Field{Key: en.dataKey(d.key), Value: v})
	}
	ev.Fields = c.out.keepFields(fs)
	ev.Message = message(rec, prov, spec, n)
}

// pickUser chooses the account the event is about: the target of logons
// and authentications, the subject (actor) of everything else.
func pickUser(n *norm, target bool) string {
	if target && n.has(sTargetUser) {
		return n.get(sTargetUser)
	}
	if n.has(sSubjectUser) {
		return n.get(sSubjectUser)
	}
	return n.get(sTargetUser)
}

func pickPath(rec *record, prov int, n *norm) string {
	switch {
	case prov == pSysmon:
		switch rec.eventID {
		case 11, 15, 23, 26, 29:
			if f := rec.get("TargetFilename"); f != "" {
				return f
			}
		case 6, 7:
			if f := rec.get("ImageLoaded"); f != "" {
				return f
			}
		}
	case prov == pPowerShell && rec.eventID == 4104:
		return rec.get("Path")
	}
	if n.has(sImagePath) {
		return n.get(sImagePath)
	}
	return n.get(sProcess)
}

// sameHost compares Computer values on their first DNS label.
func sameHost(a, b string) bool {
	if a == b {
		return true
	}
	if i := strings.IndexByte(a, '.'); i > 0 {
		a = a[:i]
	}
	if i := strings.IndexByte(b, '.'); i > 0 {
		b = b[:i]
	}
	return strings.EqualFold(a, b)
}
