package regf

import "encoding/binary"

// Security descriptor control bits and key access masks (winnt.h).
const (
	seDACLPresent       = 0x0004
	seDACLAutoInherited = 0x0400
	seDACLProtected     = 0x1000
	seSelfRelative      = 0x8000

	aceAccessAllowed     = 0
	aceContainerInherit  = 0x02
	keyAllAccess         = 0x000F003F
	keyRead              = 0x00020019
	aclRevision          = 2
	sdRevision           = 1
	securityNTAuthority  = 5
	securityLocalSystem  = 18
	securityBuiltinAlias = 32
	aliasAdmins          = 544
	aliasUsers           = 545
)

// sid encodes a SID with the NT authority (S-1-5-...).
func sid(sub ...uint32) []byte {
	b := []byte{1, byte(len(sub)), 0, 0, 0, 0, 0, securityNTAuthority}
	for _, s := range sub {
		b = binary.LittleEndian.AppendUint32(b, s)
	}
	return b
}

// defaultSecurityDescriptor is the self-relative descriptor every written
// key shares: owner Administrators, group SYSTEM, and a protected DACL
// giving SYSTEM and Administrators full control and Users read access,
// inherited by subkeys — the shape of a stock HKLM key. Like Windows, the
// DACL comes first and the owner and group SIDs after it.
func defaultSecurityDescriptor() []byte {
	system := sid(securityLocalSystem)
	admins := sid(securityBuiltinAlias, aliasAdmins)
	users := sid(securityBuiltinAlias, aliasUsers)
	type ace struct {
		mask uint32
		sid  []byte
	}
	aces := []ace{{keyAllAccess, system}, {keyAllAccess, admins}, {keyRead, users}}
	var acl []byte
	for _, a := range aces {
		size := 8 + len(a.sid)
		acl = append(acl, aceAccessAllowed, aceContainerInherit)
		acl = binary.LittleEndian.AppendUint16(acl, uint16(size))
		acl = binary.LittleEndian.AppendUint32(acl, a.mask)
		acl = append(acl, a.sid...)
	}
	hdr := []byte{aclRevision, 0}
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(8+len(acl)))
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(aces)))
	hdr = append(hdr, 0, 0)
	acl = append(hdr, acl...)

	const header = 20
	daclOff := header
	ownerOff := daclOff + len(acl)
	groupOff := ownerOff + len(admins)
	sd := []byte{sdRevision, 0}
	sd = binary.LittleEndian.AppendUint16(sd, seSelfRelative|seDACLProtected|seDACLAutoInherited|seDACLPresent)
	sd = binary.LittleEndian.AppendUint32(sd, uint32(ownerOff))
	sd = binary.LittleEndian.AppendUint32(sd, uint32(groupOff))
	sd = binary.LittleEndian.AppendUint32(sd, 0) // no SACL
	sd = binary.LittleEndian.AppendUint32(sd, uint32(daclOff))
	sd = append(sd, acl...)
	sd = append(sd, admins...)
	sd = append(sd, system...)
	return sd
}
