package evtx

// Every record of a template has the same System element; only the
// values differ. walker.system finds its children by name and their
// values by attribute name for every record. A sysPlan does that search
// once per System element: the list of what to read, in the order the
// walk reads it, with the content to read it from. Reading goes through
// the same functions as the walk (num, string, fileTime...), so the
// values are the same; the plan is used only where the walk's other
// effects are the same too, and the walk runs otherwise:
//   - System's content is elements and text only (a substitution there
//     could be a BinXML value that expands into more System elements);
//   - every content read is empty, one literal or one substitution;
//   - in this record none of those substitutions holds a BinXML value,
//     and the work budget cannot run out while reading them.

type sysOp uint8

const (
	opProvider sysOp = iota
	opSkip
	opEventID
	opLevel
	opTask
	opOpcode
	opKeywords
	opTimeCreated
	opRecordID
	opPID
	opTID
	opChannel
	opComputer
	opUserSID
)

type sysAction struct {
	op    sysOp
	items []item  // the content: nil, or one item held in one
	one   [1]item // a copy, so that a record's reads stay in the plan's memory
}

type sysPlan struct {
	ok      bool
	actions []sysAction
	subs    []uint16 // substitutions the actions read
}

func planSystem(sys *elem) *sysPlan {
	p := &sysPlan{ok: true}
	// add reads content; a missing attribute reads as empty content,
	// which is what attrText gives for it.
	add := func(op sysOp, items []item) {
		if len(items) > 1 || len(items) == 1 && items[0].kind != kText && items[0].kind != kSub {
			p.ok = false
		}
		if len(items) == 1 && items[0].kind == kSub {
			p.subs = append(p.subs, items[0].sub)
		}
		p.actions = append(p.actions, sysAction{op: op, items: items})
	}
	// attr reads an attribute only when present (the walk does nothing
	// for a missing one).
	attr := func(op sysOp, e *elem, name string) {
		if items, ok := attrOf(e, name); ok {
			add(op, items)
		}
	}
	for _, it := range sys.items {
		switch it.kind {
		case kText:
			continue
		case kElem:
		default:
			p.ok = false
			return p
		}
		e := it.elem
		switch e.name {
		case "Provider":
			items, _ := attrOf(e, "Name")
			add(opProvider, items)
			attr(opSkip, e, "Guid")
			attr(opSkip, e, "EventSourceName")
		case "EventID":
			add(opEventID, e.items)
			attr(opSkip, e, "Qualifiers")
		case "Version":
			add(opSkip, e.items)
		case "Level":
			add(opLevel, e.items)
		case "Task":
			add(opTask, e.items)
		case "Opcode":
			add(opOpcode, e.items)
		case "Keywords":
			add(opKeywords, e.items)
		case "TimeCreated":
			attr(opTimeCreated, e, "SystemTime")
		case "EventRecordID":
			add(opRecordID, e.items)
		case "Correlation":
			attr(opSkip, e, "ActivityID")
		case "Execution":
			attr(opPID, e, "ProcessID")
			attr(opTID, e, "ThreadID")
		case "Channel":
			add(opChannel, e.items)
		case "Computer":
			add(opComputer, e.items)
		case "Security":
			items, _ := attrOf(e, "UserID")
			add(opUserSID, items)
		}
	}
	for i := range p.actions {
		if a := &p.actions[i]; len(a.items) == 1 {
			a.one[0] = a.items[0]
			a.items = a.one[:]
		}
	}
	return p
}

// noSystemPlan turns the plans off (tests compare both ways).
var noSystemPlan = false

// systemPlanned reads System through its plan, or reports false when
// the walk must do it.
func (w *walker) systemPlanned(sys *elem, vals []value) bool {
	if noSystemPlan {
		return false
	}
	if sys.plan == nil {
		sys.plan = planSystem(sys)
	}
	p := sys.plan
	// The walk takes one step per System item and at most one per
	// content read; within the budget it cannot fail, whatever order
	// the steps come in.
	if !p.ok || w.steps+len(sys.items)+len(p.actions) > maxSteps {
		return false
	}
	for _, id := range p.subs {
		if int(id) < len(vals) && vals[id].typ == tBinXML {
			return false
		}
	}
	w.step(len(sys.items))
	rec := w.rec
	for _, a := range p.actions {
		switch a.op {
		case opProvider:
			rec.provider = w.string(a.items, vals)
		case opSkip:
			w.skip(a.items, vals)
		case opEventID:
			rec.eventID, _ = w.num(a.items, vals)
		case opLevel:
			rec.level, _ = w.num(a.items, vals)
		case opTask:
			rec.task, _ = w.num(a.items, vals)
		case opOpcode:
			rec.opcode, _ = w.num(a.items, vals)
		case opKeywords:
			rec.keywords = w.string(a.items, vals)
		case opTimeCreated:
			rec.created = w.fileTime(a.items, vals)
		case opRecordID:
			rec.sysRecord, rec.sysRecordOK = w.recordID(a.items, vals)
		case opPID:
			if n, present := w.num(a.items, vals); present {
				rec.pid = int64(n)
			}
		case opTID:
			if n, present := w.num(a.items, vals); present {
				rec.tid = int64(n)
			}
		case opChannel:
			rec.channel = w.string(a.items, vals)
		case opComputer:
			rec.computer = w.interned(a.items, vals)
		case opUserSID:
			rec.userSID = w.string(a.items, vals)
		}
	}
	return true
}
