package evtx

import (
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
)

// spec describes what Foothold knows about one event of one provider.
type spec struct {
	desc   string // TimeDesc
	target bool   // Event.User is the target account (logons, authentications)
	msg    func(rec *record, n *norm) string
}

func specKey(prov, id int) uint32 { return uint32(prov)<<16 | uint32(id&0xffff) }

var specs = map[uint32]spec{}

func def(prov int, ids []int, desc string, target bool, msg func(*record, *norm) string) {
	for _, id := range ids {
		specs[specKey(prov, id)] = spec{desc, target, msg}
	}
}

var logonTypes = map[int64]string{
	0: "System", 2: "Interactive", 3: "Network", 4: "Batch", 5: "Service", 7: "Unlock",
	8: "NetworkCleartext", 9: "NewCredentials", 10: "RemoteInteractive", 11: "CachedInteractive",
	12: "CachedRemoteInteractive", 13: "CachedUnlock",
}

func logonKind(n *norm) string {
	if !n.has(sLogonType) {
		return "Logon"
	}
	t := n.n[sLogonType]
	name, ok := logonTypes[t]
	if !ok {
		name = "Unknown"
	}
	return name + " logon (type " + strconv.FormatInt(t, 10) + ")"
}

// msgb builds a sentence from optional parts. Its buffer is borrowed from
// msgPool on the first write and given back by String, which copies the
// sentence out: a message costs one allocation of its own size instead of
// one per doubling of a builder.
type msgb struct{ buf *[]byte }

var msgPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (b *msgb) WriteString(s string) {
	if b.buf == nil {
		b.buf = msgPool.Get().(*[]byte)
	}
	*b.buf = append(*b.buf, s...)
}

// String returns the sentence and releases the buffer; the msgb is empty
// again afterwards.
func (b *msgb) String() string {
	if b.buf == nil {
		return ""
	}
	s := string(*b.buf)
	if cap(*b.buf) <= 64<<10 {
		*b.buf = (*b.buf)[:0]
		msgPool.Put(b.buf)
	}
	b.buf = nil
	return s
}

func (b *msgb) w(parts ...string) *msgb {
	for _, p := range parts {
		b.WriteString(p)
	}
	return b
}

// opt writes prefix+v+suffix when v is not empty.
func (b *msgb) opt(prefix, v, suffix string) *msgb {
	if v != "" {
		b.WriteString(prefix)
		b.WriteString(v)
		b.WriteString(suffix)
	}
	return b
}

func or(v, alt string) string {
	if v == "" {
		return alt
	}
	return v
}

func pid(n *norm) string {
	if !n.has(sProcessID) {
		return ""
	}
	return strconv.FormatInt(n.n[sProcessID], 10)
}

func port(n *norm, s slot) string {
	if !n.has(s) {
		return ""
	}
	return strconv.FormatInt(n.n[s], 10)
}

// from renders " from IP (WORKSTATION)" with what is known.
func from(b *msgb, n *norm) {
	ipv, ws := n.get(sSrcIP), n.get(sWorkstation)
	switch {
	case ipv != "" && ws != "":
		b.w(" from ", ipv, " (", ws, ")")
	case ipv != "":
		b.w(" from ", ipv)
	case ws != "":
		b.w(" from ", ws)
	}
}

func short(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xc0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

func init() {
	logon := func(rec *record, n *norm) string {
		var b msgb
		b.w(logonKind(n), " of ", or(n.get(sTargetUser), "unknown account"))
		from(&b, n)
		b.opt(" via ", n.get(sAuthPackage), "")
		if n.get(sAuthPackage) == "" {
			b.opt(" via ", n.get(sLogonProcess), "")
		}
		b.opt(", logon id ", n.get(sTargetLogonID), "")
		if n.n[sLogonType] == 9 {
			b.opt(", outbound as ", account(rec.get("TargetOutboundDomainName"), rec.get("TargetOutboundUserName")), "")
		}
		b.opt(", process ", n.get(sProcess), "")
		return b.String()
	}
	def(pSecurity, []int{4624}, "Logon", true, logon)
	def(pSecurity, []int{4625}, "Failed logon", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("Failed ", strings.ToLower(logonKind(n)[:1]), logonKind(n)[1:], " of ", or(n.get(sTargetUser), "unknown account"))
		from(&b, n)
		b.opt(" via ", n.get(sAuthPackage), "")
		b.opt(": status ", rec.get("Status"), "")
		b.opt("/", rec.get("SubStatus"), "")
		return b.String()
	})
	def(pSecurity, []int{4634}, "Logoff", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("Logoff of ", or(n.get(sTargetUser), "unknown account"))
		if n.has(sLogonType) {
			b.w(" (type ", strconv.FormatInt(n.n[sLogonType], 10), ")")
		}
		b.opt(", logon id ", n.get(sTargetLogonID), "")
		return b.String()
	})
	def(pSecurity, []int{4647}, "Logoff", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("User-initiated logoff of ", or(n.get(sTargetUser), "unknown account"))
		b.opt(", logon id ", n.get(sTargetLogonID), "")
		return b.String()
	})
	def(pSecurity, []int{4648}, "Explicit credentials", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Explicit credentials of ", or(n.get(sTargetUser), "unknown account"), " used by ", or(n.get(sSubjectUser), "unknown account"))
		b.opt(" for ", n.get(sTargetServer), "")
		b.opt(" (", n.get(sTargetInfo), ")")
		b.opt(" by process ", n.get(sProcess), "")
		b.opt(", caller address ", n.get(sSrcIP), "")
		return b.String()
	})
	def(pSecurity, []int{4672}, "Special logon", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Special privileges assigned to logon of ", or(n.get(sSubjectUser), "unknown account"))
		b.opt(", logon id ", n.get(sLogonID), "")
		return b.String()
	})
	def(pSecurity, []int{4688}, "Process created", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Process ", or(n.get(sProcess), "?"))
		b.opt(" (pid ", pid(n), ")")
		b.w(" started by ", or(n.get(sSubjectUser), "unknown account"))
		b.opt(" as ", n.get(sTargetUser), "")
		b.opt(", parent ", n.get(sParentProcess), "")
		b.opt(": ", short(n.get(sCommandLine), 300), "")
		return b.String()
	})
	def(pSecurity, []int{4689}, "Process exited", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Process ", or(n.get(sProcess), "?"))
		b.opt(" (pid ", pid(n), ")")
		b.w(" exited")
		b.opt(", user ", n.get(sSubjectUser), "")
		b.opt(", status ", rec.get("Status"), "")
		return b.String()
	})
	def(pSecurity, []int{4697}, "Service installed", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Service ", or(n.get(sServiceName), "?"), " installed")
		b.opt(" with image ", n.get(sImagePath), "")
		b.opt(" by ", n.get(sSubjectUser), "")
		b.opt(", account ", rec.get("ServiceAccount"), "")
		b.opt(", logon id ", n.get(sLogonID), "")
		return b.String()
	})
	task := func(verb string) func(*record, *norm) string {
		return func(rec *record, n *norm) string {
			var b msgb
			b.w("Scheduled task ", or(n.get(sTaskName), "?"), " ", verb)
			b.opt(" by ", n.get(sSubjectUser), "")
			b.opt(", logon id ", n.get(sLogonID), "")
			if cmd := taskCommand(n.get(sTaskContent)); cmd != "" {
				b.w(": ", short(cmd, 300))
			}
			return b.String()
		}
	}
	def(pSecurity, []int{4698}, "Task created", false, task("created"))
	def(pSecurity, []int{4699}, "Task deleted", false, task("deleted"))
	def(pSecurity, []int{4700}, "Task enabled", false, task("enabled"))
	def(pSecurity, []int{4701}, "Task disabled", false, task("disabled"))
	def(pSecurity, []int{4702}, "Task updated", false, task("updated"))
	def(pSecurity, []int{4768}, "Kerberos TGT request", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("Kerberos TGT requested for ", or(n.get(sTargetUser), "unknown account"))
		from(&b, n)
		b.opt(": status ", rec.get("Status"), "")
		b.opt(", encryption ", rec.get("TicketEncryptionType"), "")
		return b.String()
	})
	def(pSecurity, []int{4769}, "Kerberos service ticket request", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("Kerberos service ticket for ", or(n.get(sServiceName), "?"), " requested by ", or(n.get(sTargetUser), "unknown account"))
		from(&b, n)
		b.opt(": status ", rec.get("Status"), "")
		b.opt(", encryption ", rec.get("TicketEncryptionType"), "")
		return b.String()
	})
	def(pSecurity, []int{4771}, "Kerberos pre-authentication failed", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("Kerberos pre-authentication failed for ", or(n.get(sTargetUser), "unknown account"))
		from(&b, n)
		b.opt(": status ", rec.get("Status"), "")
		return b.String()
	})
	def(pSecurity, []int{4776}, "NTLM credential validation", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("NTLM credential validation of ", or(n.get(sTargetUser), "unknown account"))
		b.opt(" from ", n.get(sWorkstation), "")
		b.opt(": status ", rec.get("Status"), "")
		return b.String()
	})
	session := func(verb string) func(*record, *norm) string {
		return func(rec *record, n *norm) string {
			var b msgb
			b.w("Session ", verb, " for ", or(n.get(sTargetUser), "unknown account"))
			from(&b, n)
			b.opt(", session ", rec.get("SessionName"), "")
			b.opt(", logon id ", n.get(sTargetLogonID), "")
			return b.String()
		}
	}
	def(pSecurity, []int{4778}, "Session reconnected", true, session("reconnected"))
	def(pSecurity, []int{4779}, "Session disconnected", true, session("disconnected"))
	share := func(rec *record, n *norm) string {
		var b msgb
		if rec.eventID == 5140 {
			b.w("Share ", or(n.get(sShareName), "?"), " accessed")
		} else {
			b.w("Share object ", strings.TrimRight(n.get(sShareName), `\`), `\`, n.get(sRelativeTarget), " checked")
		}
		b.opt(" by ", n.get(sSubjectUser), "")
		from(&b, n)
		b.opt(", access mask ", n.get(sAccessMask), "")
		b.opt(", logon id ", n.get(sLogonID), "")
		return b.String()
	}
	def(pSecurity, []int{5140}, "Share accessed", false, share)
	def(pSecurity, []int{5145}, "Share object checked", false, share)
	def(pSecurity, []int{5156, 5157}, "Network connection", false, func(rec *record, n *norm) string {
		var b msgb
		if rec.eventID == 5156 {
			b.w("Connection allowed: ")
		} else {
			b.w("Connection blocked: ")
		}
		b.w(or(n.get(sProcess), "?"))
		b.opt(" (pid ", pid(n), ")")
		b.w(" ", n.get(sSrcIP), ":", port(n, sSrcPort), " -> ", n.get(sDstIP), ":", port(n, sDstPort))
		b.opt(", direction ", rec.get("Direction"), "")
		return b.String()
	})
	cleared := func(rec *record, n *norm) string {
		var b msgb
		ch := rec.get("Channel")
		if ch == "" {
			ch = rec.channel
		}
		b.w("Event log ", or(ch, "?"), " cleared")
		b.opt(" by ", n.get(sSubjectUser), "")
		b.opt(", backup ", rec.get("BackupPath"), "")
		return b.String()
	}
	def(pEventlog, []int{1102, 104}, "Log cleared", false, cleared)

	def(pSCM, []int{7045}, "Service installed", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Service ", or(n.get(sServiceName), "?"), " installed")
		b.opt(" with image ", n.get(sImagePath), "")
		b.opt(", ", rec.get("ServiceType"), "")
		b.opt(", ", rec.get("StartType"), "")
		b.opt(", account ", rec.get("AccountName"), "")
		return b.String()
	})
	def(pSCM, []int{7036}, "Service state change", false, func(rec *record, n *norm) string {
		return "Service " + or(n.get(sServiceName), "?") + " entered the " + or(rec.get("param2"), rec.get("1")) + " state"
	})
	def(pSCM, []int{7040}, "Service start type change", false, func(rec *record, n *norm) string {
		return "Service " + or(n.get(sServiceName), "?") + " start type changed from " + rec.get("param2") + " to " + rec.get("param3")
	})
	def(pSCM, []int{7034}, "Service crashed", false, func(rec *record, n *norm) string {
		return "Service " + or(n.get(sServiceName), "?") + " terminated unexpectedly (" + rec.get("param2") + " times)"
	})

	def(pSysmon, []int{1}, "Process created", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Process ", or(n.get(sProcess), "?"))
		b.opt(" (pid ", pid(n), ")")
		b.opt(" started by ", n.get(sSubjectUser), "")
		b.opt(", parent ", n.get(sParentProcess), "")
		b.opt(": ", short(n.get(sCommandLine), 300), "")
		return b.String()
	})
	def(pSysmon, []int{3}, "Network connection", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Network connection by ", or(n.get(sProcess), "?"))
		b.opt(" (pid ", pid(n), ")")
		b.w(": ", n.get(sSrcIP), ":", port(n, sSrcPort), " -> ", n.get(sDstIP), ":", port(n, sDstPort))
		b.opt(" ", rec.get("Protocol"), "")
		b.opt(", initiated ", strings.ToLower(rec.get("Initiated")), "")
		return b.String()
	})
	def(pSysmon, []int{5}, "Process terminated", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Process ", or(n.get(sProcess), "?"))
		b.opt(" (pid ", pid(n), ")")
		b.w(" terminated")
		return b.String()
	})
	def(pSysmon, []int{17, 18}, "Pipe event", false, func(rec *record, n *norm) string {
		verb := "created"
		if rec.eventID == 18 {
			verb = "connected"
		}
		var b msgb
		b.w("Pipe ", or(n.get(sPipeName), "?"), " ", verb)
		b.opt(" by ", n.get(sProcess), "")
		return b.String()
	})
	def(pSysmon, []int{11}, "File created", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("File ", or(rec.get("TargetFilename"), "?"), " created")
		b.opt(" by ", n.get(sProcess), "")
		return b.String()
	})

	rdp := func(what string) func(*record, *norm) string {
		return func(rec *record, n *norm) string {
			var b msgb
			b.w(what, " for ", or(n.get(sTargetUser), "unknown account"))
			b.opt(", session ", rec.get("SessionID"), "")
			if a := rec.get("Address"); a != "" {
				b.w(" from ", a)
			}
			return b.String()
		}
	}
	def(pLSM, []int{21}, "RDP session logon", true, rdp("Remote Desktop session logon"))
	def(pLSM, []int{22}, "RDP shell start", true, rdp("Remote Desktop shell start"))
	def(pLSM, []int{23}, "RDP session logoff", true, rdp("Remote Desktop session logoff"))
	def(pLSM, []int{24}, "RDP session disconnected", true, rdp("Remote Desktop session disconnected"))
	def(pLSM, []int{25}, "RDP session reconnected", true, rdp("Remote Desktop session reconnected"))
	def(pRCM, []int{1149}, "RDP authentication", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("Remote Desktop user authenticated: ", or(n.get(sTargetUser), "unknown account"))
		b.opt(" from ", n.get(sSrcIP), "")
		return b.String()
	})
	def(pRDPClient, []int{1024, 1102}, "RDP client connection", false, func(rec *record, n *norm) string {
		return "Remote Desktop client connecting to " + or(n.get(sTargetServer), "?")
	})
	def(pRDPClient, []int{1026}, "RDP client disconnected", false, func(rec *record, n *norm) string {
		return "Remote Desktop client disconnected" + strings.TrimSuffix(" from "+n.get(sTargetServer), " from ") + strings.TrimSuffix(", reason "+rec.get("Value"), ", reason ")
	})
	def(pRdpCoreTS, []int{131}, "RDP connection accepted", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("Remote Desktop connection accepted")
		b.opt(" (", rec.get("ConnType"), ")")
		b.opt(" from ", rec.get("ClientIP"), "")
		return b.String()
	})
	def(pWinRM, []int{6}, "WinRM session created", false, func(rec *record, n *norm) string {
		return "WinRM session created to " + or(rec.get("connection"), "?")
	})
	def(pWinRM, []int{91}, "WinRM shell created", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("WinRM shell created")
		b.opt(": ", or(rec.get("resourceUri"), hexUTF16(rec.get("EventPayload"))), "")
		return b.String()
	})
	def(pWinRM, []int{169}, "WinRM authentication", true, func(rec *record, n *norm) string {
		var b msgb
		b.w("WinRM user ", or(n.get(sTargetUser), "?"), " authenticated")
		b.opt(" via ", n.get(sAuthPackage), "")
		return b.String()
	})
	def(pWMI, []int{5857}, "WMI provider loaded", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("WMI provider ", or(rec.get("ProviderName"), "?"), " loaded")
		b.opt(" in ", n.get(sProcess), "")
		b.opt(" (pid ", pid(n), ")")
		b.opt(" from ", rec.get("ProviderPath"), "")
		return b.String()
	})
	def(pWMI, []int{5858}, "WMI client failure", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("WMI operation failed")
		b.opt(": ", short(rec.get("Operation"), 200), "")
		b.opt(" by ", n.get(sSubjectUser), "")
		b.opt(" from ", n.get(sWorkstation), "")
		b.opt(", result ", rec.get("ResultCode"), "")
		return b.String()
	})
	def(pWMI, []int{5860}, "WMI temporary subscription", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("WMI temporary event subscription")
		b.opt(" in ", rec.get("NamespaceName"), "")
		b.opt(": ", short(rec.get("Query"), 200), "")
		b.opt(" by ", n.get(sSubjectUser), "")
		b.opt(" from ", n.get(sWorkstation), "")
		return b.String()
	})
	def(pWMI, []int{5861}, "WMI permanent subscription", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("WMI permanent event subscription")
		b.opt(" in ", rec.get("Namespace"), "")
		b.opt(": consumer ", short(rec.get("CONSUMER"), 200), "")
		b.opt(", filter ", short(rec.get("ESS"), 200), "")
		return b.String()
	})
	def(pPowerShell, []int{4104}, "Script block logged", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("PowerShell script block")
		if m, t := rec.get("MessageNumber"), rec.get("MessageTotal"); m != "" && t != "" {
			b.w(" (", m, " of ", t, ")")
		}
		b.opt(" from ", rec.get("Path"), "")
		b.opt(": ", short(rec.get("ScriptBlockText"), 300), "")
		return b.String()
	})
	def(pPowerShell, []int{4103}, "Pipeline executed", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("PowerShell pipeline executed")
		b.opt(" by ", n.get(sSubjectUser), "")
		b.opt(": ", short(rec.get("Payload"), 300), "")
		return b.String()
	})
	ps := func(what string) func(*record, *norm) string {
		return func(rec *record, n *norm) string {
			var b msgb
			b.w(what)
			b.opt(": ", short(n.get(sCommandLine), 300), "")
			return b.String()
		}
	}
	def(pPowerShellClassic, []int{400}, "PowerShell engine started", false, ps("PowerShell engine started"))
	def(pPowerShellClassic, []int{403}, "PowerShell engine stopped", false, ps("PowerShell engine stopped"))
	def(pPowerShellClassic, []int{600}, "PowerShell provider started", false, ps("PowerShell provider started"))
	def(pPowerShellClassic, []int{800}, "Pipeline executed", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("PowerShell pipeline executed")
		b.opt(": ", short(rec.get("0"), 300), "")
		return b.String()
	})
	tsk := func(what string) func(*record, *norm) string {
		return func(rec *record, n *norm) string {
			var b msgb
			b.w("Task ", or(n.get(sTaskName), "?"), " ", what)
			b.opt(" by ", n.get(sSubjectUser), "")
			b.opt(", action ", rec.get("ActionName"), "")
			b.opt(", process ", n.get(sProcess), "")
			b.opt(", result ", rec.get("ResultCode"), "")
			return b.String()
		}
	}
	def(pTaskScheduler, []int{106}, "Task registered", false, tsk("registered"))
	def(pTaskScheduler, []int{140}, "Task updated", false, tsk("updated"))
	def(pTaskScheduler, []int{141}, "Task deleted", false, tsk("deleted"))
	def(pTaskScheduler, []int{142}, "Task disabled", false, tsk("disabled"))
	def(pTaskScheduler, []int{200}, "Task action started", false, tsk("action started"))
	def(pTaskScheduler, []int{201}, "Task action completed", false, tsk("action completed"))
	def(pTaskScheduler, []int{129}, "Task process created", false, tsk("process created"))
	def(pDCOM, []int{10016}, "DCOM permission denied", false, func(rec *record, n *norm) string {
		var b msgb
		b.w("DCOM ", strings.ToLower(rec.get("param2")), " ", strings.ToLower(rec.get("param3")), " permission denied for ", or(n.get(sSubjectUser), "?"))
		b.opt(" on ", rec.get("param4"), "")
		b.opt(" from ", n.get(sSrcIP), "")
		return b.String()
	})
}

// taskCommand pulls the first <Command> (and its <Arguments>) out of a
// task's XML without parsing all of it.
func taskCommand(x string) string {
	cmd := between(x, "<Command>", "</Command>")
	if cmd == "" {
		return ""
	}
	if args := between(x, "<Arguments>", "</Arguments>"); args != "" {
		return cmd + " " + args
	}
	return cmd
}

// hexUTF16 decodes the hex-rendered UTF-16LE payload of ProcessingErrorData
// (WinRM 91 writes its resource URI there).
func hexUTF16(s string) string {
	if len(s) < 4 || len(s)%4 != 0 {
		return s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return s
	}
	return decodeUTF16(b)
}

var xmlUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return xmlUnescaper.Replace(strings.TrimSpace(s[:j]))
}

// message builds the event's sentence: the provider's builder, or
// "Channel ID: key=value, ..." from the first values.
func message(rec *record, prov int, sp spec, n *norm) string {
	if sp.msg != nil {
		return sp.msg(rec, n)
	}
	var b msgb
	b.w(or(rec.channel, or(rec.provider, "evtx")), " ", strconv.Itoa(rec.eventID))
	if len(rec.data) == 0 {
		return b.String()
	}
	b.w(":")
	for i, d := range rec.data {
		if i == 6 {
			b.w(", …")
			break
		}
		if i > 0 {
			b.w(",")
		}
		b.w(" ", d.key, "=", short(d.val, 80))
	}
	return b.String()
}
