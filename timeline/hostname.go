package timeline

import (
	"net"
	"strings"
)

// HostMatch is the condition on hosts.name that selects a host by the name
// a user gives, in any case: a short name also finds the host recorded
// under its FQDN ("WS01" finds "WS01.corp.example", as event logs name
// it), and an FQDN finds the host recorded under its short name (the
// registry's ComputerName) unless that host is in another domain. Names of unknown nodes ("unknown@10.0.0.5")
// and addresses match exactly.
func HostMatch(name string) (string, []any) {
	n := strings.ToLower(name)
	if !dnsName(n) {
		return "lower(name) = ?", []any{n}
	}
	cond := `(lower(name) = ? OR lower(name) LIKE ? ESCAPE '\'`
	args := []any{n, escapeLike(n) + ".%"}
	if short, dns, ok := strings.Cut(n, "."); ok {
		// The short-named host, unless it is known to be in another
		// domain (sameDomain, in SQL).
		first, _, _ := strings.Cut(dns, ".")
		cond += ` OR lower(name) = ? AND (domain = '' OR lower(domain) = ? OR lower(domain) = ?)`
		args = append(args, short, dns, first)
	}
	return cond + ")", args
}

// dnsName: a host name that may have an FQDN form.
func dnsName(n string) bool {
	return n != "" && !strings.ContainsAny(n, "@:/\\ ") && net.ParseIP(n) == nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sameDomain: a host known to be in domain known (DNS, or NetBIOS as the
// registry may give it) can be named with this DNS domain; an unknown
// domain agrees with any.
func sameDomain(known, dns string) bool {
	if known == "" || known == dns {
		return true
	}
	first, _, _ := strings.Cut(dns, ".")
	return !strings.Contains(known, ".") && known == first
}
