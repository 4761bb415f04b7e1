package task

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/foothold/foothold/parsers/event"
)

// Task is what a task XML says, with every value as the text it holds.
type Task struct {
	Version     string // the Task element's version attribute (1.2, 1.3 ...)
	URI         string
	Author      string
	Description string
	Source      string
	Date        string // RegistrationInfo/Date as written (usually local, no zone)
	Principal   Principal
	Actions     []Action
	Triggers    []Trigger
	// Hidden and Enabled are Settings values; "" when absent (the task
	// scheduler's defaults are Hidden false and Enabled true).
	Hidden, Enabled string
}

// Principal is the account the task runs as.
type Principal struct {
	ID, UserID, GroupID, LogonType, RunLevel string
}

// Action is one element of Actions.
type Action struct {
	Kind             string // Exec, ComHandler, SendEmail, ShowMessage
	Command          string // Exec
	Arguments        string // Exec
	WorkingDirectory string // Exec
	ClassID, Data    string // ComHandler
}

// Trigger is one element of Triggers, any kind.
type Trigger struct {
	Kind          string // BootTrigger, LogonTrigger, TimeTrigger, CalendarTrigger, EventTrigger, IdleTrigger, RegistrationTrigger, SessionStateChangeTrigger, WnfStateChangeTrigger
	StartBoundary string
	EndBoundary   string
	Enabled       string
	UserID        string // LogonTrigger, SessionStateChangeTrigger
	Delay         string
	Subscription  string // EventTrigger
	Interval      string // Repetition/Interval
}

// maxElements bounds the elements read from one task XML; real tasks hold
// well under a hundred.
const maxElements = 100000

// node is one element of the document, kept small: the parser only needs
// local names, attributes and text.
type node struct {
	name     string
	attrs    []xml.Attr
	text     strings.Builder
	children []*node
}

func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (n *node) value(path ...string) string {
	c := n
	for _, p := range path {
		c = c.child(p)
	}
	if c == nil {
		return ""
	}
	return strings.TrimSpace(c.text.String())
}

func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// ReadXML parses task XML bytes in any of the encodings Windows writes.
func ReadXML(data []byte) (*Task, error) {
	text := decodeText(data)
	dec := xml.NewDecoder(strings.NewReader(text))
	// The text is already UTF-8 whatever the declaration says (UTF-16 in
	// every file Windows writes).
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	dec.Strict = false
	var root *node
	var stack []*node
	count := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if root != nil && len(stack) == 0 {
				break // trailing garbage after </Task>
			}
			return nil, fmt.Errorf("xml at byte %d: %w", dec.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxElements {
				return nil, fmt.Errorf("xml: more than %d elements", maxElements)
			}
			n := &node{name: t.Name.Local, attrs: append([]xml.Attr(nil), t.Attr...)}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("xml: second root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("xml: no element")
	}
	if root.name != "Task" {
		return nil, fmt.Errorf("xml: root element is <%s>, not <Task>", root.name)
	}
	t := &Task{
		Version:     root.attr("version"),
		URI:         root.value("RegistrationInfo", "URI"),
		Author:      root.value("RegistrationInfo", "Author"),
		Description: root.value("RegistrationInfo", "Description"),
		Source:      root.value("RegistrationInfo", "Source"),
		Date:        root.value("RegistrationInfo", "Date"),
		Hidden:      root.value("Settings", "Hidden"),
		Enabled:     root.value("Settings", "Enabled"),
	}
	// The principal the actions run under is the one Actions' Context
	// names; tasks have one principal in practice.
	principals := root.child("Principals")
	if principals != nil && len(principals.children) > 0 {
		p := principals.children[0]
		ctxID := root.child("Actions").attr("Context")
		for _, c := range principals.children {
			if ctxID != "" && c.attr("id") == ctxID {
				p = c
			}
		}
		t.Principal = Principal{ID: p.attr("id"), UserID: p.value("UserId"), GroupID: p.value("GroupId"),
			LogonType: p.value("LogonType"), RunLevel: p.value("RunLevel")}
	}
	if a := root.child("Actions"); a != nil {
		for _, c := range a.children {
			t.Actions = append(t.Actions, Action{Kind: c.name, Command: c.value("Command"), Arguments: c.value("Arguments"),
				WorkingDirectory: c.value("WorkingDirectory"), ClassID: c.value("ClassId"), Data: c.value("Data")})
		}
	}
	if tr := root.child("Triggers"); tr != nil {
		for _, c := range tr.children {
			t.Triggers = append(t.Triggers, Trigger{Kind: c.name, StartBoundary: c.value("StartBoundary"),
				EndBoundary: c.value("EndBoundary"), Enabled: c.value("Enabled"), UserID: c.value("UserId"),
				Delay: c.value("Delay"), Subscription: c.value("Subscription"), Interval: c.value("Repetition", "Interval")})
		}
	}
	return t, nil
}

// RunAs is the account the task runs as: the principal's UserId, else its
// GroupId.
func (t *Task) RunAs() string {
	if t.Principal.UserID != "" {
		return t.Principal.UserID
	}
	return t.Principal.GroupID
}

// String renders an action for a field: "C:\x.exe args" or
// "ComHandler {CLSID} data".
func (a Action) String() string {
	switch a.Kind {
	case "Exec":
		s := a.Command
		if a.Arguments != "" {
			s += " " + a.Arguments
		}
		if a.WorkingDirectory != "" {
			s += " (in " + a.WorkingDirectory + ")"
		}
		return s
	case "ComHandler":
		s := "ComHandler " + a.ClassID
		if a.Data != "" {
			s += " " + a.Data
		}
		return s
	}
	return a.Kind
}

// String renders a trigger for a field: "CalendarTrigger start 2015-07-15T20:35:13.2757294".
func (tr Trigger) String() string {
	parts := []string{tr.Kind}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	add("start", tr.StartBoundary)
	add("end", tr.EndBoundary)
	add("user", tr.UserID)
	add("delay", tr.Delay)
	add("every", tr.Interval)
	add("subscription", tr.Subscription)
	if tr.Enabled == "false" {
		parts = append(parts, "disabled")
	}
	return strings.Join(parts, " ")
}

// Event builds the timeline event of a task file. name is the file's path
// (used for the task name when the XML has no URI, and as Path).
func (t *Task) Event(name string, bias *time.Location) *event.Event {
	taskName := t.URI
	if taskName == "" {
		taskName = nameToURI(name)
	}
	reg, zoned := LocalTime(t.Date, bias)
	ev := &event.Event{
		Time:     reg,
		TimeDesc: "Task registered",
		Artifact: event.Task,
		Type:     "registered",
		User:     t.RunAs(),
		Path:     name,
		Record:   -1,
		Offset:   -1,
	}
	if t.Date != "" && !zoned {
		ev.TimeDesc = "Task registered (local time, zone unknown)"
	}
	var exec *Action
	var actions []string
	for i := range t.Actions {
		if exec == nil && t.Actions[i].Kind == "Exec" {
			exec = &t.Actions[i]
		}
		actions = append(actions, t.Actions[i].String())
	}
	var triggers []string
	for _, tr := range t.Triggers {
		triggers = append(triggers, tr.String())
	}
	ev.Add("task_name", taskName)
	if exec != nil {
		ev.Add("command", exec.Command)
		ev.Add("arguments", exec.Arguments)
		ev.Add("working_dir", exec.WorkingDirectory)
		ev.Add("target_path", exec.Command)
	}
	for _, a := range t.Actions {
		if a.Kind == "ComHandler" {
			ev.Add("com_class_id", a.ClassID)
			ev.Add("com_data", a.Data)
			break
		}
	}
	ev.Add("actions", strings.Join(actions, "\n"))
	ev.Add("run_as", t.RunAs())
	ev.Add("logon_type", t.Principal.LogonType)
	ev.Add("run_level", t.Principal.RunLevel)
	ev.Add("author", t.Author)
	ev.Add("registration_date", t.Date)
	ev.Add("triggers", strings.Join(triggers, "\n"))
	ev.Add("hidden", t.Hidden == "true")
	ev.Add("enabled", t.Enabled != "false")
	if t.Description != "" {
		ev.Add("description", t.Description)
	}
	if t.Source != "" {
		ev.Add("source", t.Source)
	}

	var msg strings.Builder
	fmt.Fprintf(&msg, "Scheduled task %s", taskName)
	if exec != nil {
		fmt.Fprintf(&msg, " runs %s", exec.String())
	} else if len(actions) > 0 {
		fmt.Fprintf(&msg, " runs %s", actions[0])
	}
	if ra := t.RunAs(); ra != "" {
		fmt.Fprintf(&msg, " as %s", ra)
	}
	if t.Author != "" {
		fmt.Fprintf(&msg, ", registered by %s", t.Author)
	}
	if t.Date != "" {
		fmt.Fprintf(&msg, " on %s", t.Date)
		if !zoned {
			msg.WriteString(" (local time)")
		}
	}
	if t.Hidden == "true" {
		msg.WriteString("; hidden")
	}
	if t.Enabled == "false" {
		msg.WriteString("; disabled")
	}
	ev.Message = msg.String()
	return ev
}

// LocalTime converts a task XML time (xs:dateTime: 2021-01-27T22:40:14,
// optionally with up to 7 fraction digits and a zone) to a FileTime. A
// time with its own zone (Z or ±hh:mm) is exact; one without is read in
// bias, and is unset (0, false) when bias is nil. zoned reports whether
// the result is a real UTC time.
func LocalTime(s string, bias *time.Location) (ft event.FileTime, zoned bool) {
	s = strings.TrimSpace(s)
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	num := func(a, b int) (int, bool) {
		v, err := strconv.Atoi(s[a:b])
		return v, err == nil && s[a] != '+' && s[a] != '-'
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || se > 60 {
		return 0, false
	}
	rest := s[19:]
	ticks := 0 // 100 ns
	if strings.HasPrefix(rest, ".") {
		i := 1
		scale := 1000000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if scale > 0 {
				ticks += int(rest[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		rest = rest[i:]
	}
	loc := bias
	switch {
	case rest == "Z":
		loc, zoned = time.UTC, true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, err1 := strconv.Atoi(rest[1:3])
		om, err2 := strconv.Atoi(rest[4:6])
		if err1 != nil || err2 != nil || oh > 14 || om > 59 {
			return 0, false
		}
		off := oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
		loc, zoned = time.FixedZone(rest, off), true
	case rest == "":
		if bias == nil {
			return 0, false
		}
		zoned = true
	default:
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, loc)
	base := event.FromTime(t)
	if base == 0 {
		return 0, false
	}
	return base + event.FileTime(ticks), zoned
}
