"""Laravel's ``url`` rule as pterodactyl/panel v1.11.8 runs it (egg variables such as the Rust
egg's ``nullable|url``).

laravel/framework v10.1.4 src/Illuminate/Validation/Concerns/ValidatesAttributes.php
``validateUrl`` accepts a string that is, in order: a scheme from a fixed list of registered URI
schemes (compared case-insensitively) and ``://``; optionally ``user[:password]@`` made of
letters, numbers, ``_ . -`` and ``%XX``; a host, which is a run of letters, numbers, symbols and
``- _ .`` ending in a letter or number (or an ``xn--`` label), optionally followed by one dot, or
four dot-separated groups of one to three digits (a case the host form already covers), or a
bracketed IPv6 address; an optional
``:port``; then path segments, a query and a fragment made of letters, numbers, the RFC 3986
sub-delimiters and ``%XX``. "Letters", "numbers" and "symbols" are the Unicode categories L, N
and S (the rule runs with the ``u`` flag); a final newline is tolerated (``$`` without ``D``).

This module is our own matcher for that language; the scheme names are the list the rule
accepts (IANA-registered URI schemes).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

SCHEMES = frozenset(
    """
    aaa aaas about acap acct acd acr adiumxtra adt afp afs aim amss android appdata apt ark
    attachment aw barion beshare bitcoin bitcoincash blob bolo browserext calculator callto
    cap cast casts chrome chrome-extension cid coap coap+tcp coap+ws coaps coaps+tcp
    coaps+ws com-eventbrite-attendee content conti crid cvs dab data dav diaspora dict did
    dis dlna-playcontainer dlna-playsingle dns dntp dpp drm drop dtn dvb ed2k elsi example
    facetime fax feed feedready file filesystem finger first-run-pen-experience fish fm ftp
    fuchsia-pkg geo gg git gizmoproject go gopher graph gtalk h323 ham hcap hcp http https
    hxxp hxxps hydrazone iax icap icon im imap info iotdisco ipn ipp ipps irc irc6 ircs iris
    iris.beep iris.lwz iris.xpc iris.xpcs isostore itms jabber jar jms keyparc lastfm ldap
    ldaps leaptofrogans lorawan lvlt magnet mailserver mailto maps market message mid mms
    modem mongodb moz ms-access ms-browser-extension ms-calculator ms-drive-to ms-enrollment
    ms-excel ms-eyecontrolspeech ms-gamebarservices ms-gamingoverlay ms-getoffice ms-help
    ms-infopath ms-inputapp ms-lockscreencomponent-config ms-media-stream-id
    ms-mixedrealitycapture ms-mobileplans ms-officeapp ms-people ms-project ms-powerpoint
    ms-publisher ms-restoretabcompanion ms-screenclip ms-screensketch ms-search
    ms-search-repair ms-secondary-screen-controller ms-secondary-screen-setup ms-settings
    ms-settings-airplanemode ms-settings-bluetooth ms-settings-camera ms-settings-cellular
    ms-settings-cloudstorage ms-settings-connectabledevices ms-settings-displays-topology
    ms-settings-emailandaccounts ms-settings-language ms-settings-location ms-settings-lock
    ms-settings-nfctransactions ms-settings-notifications ms-settings-power
    ms-settings-privacy ms-settings-proximity ms-settings-screenrotation ms-settings-wifi
    ms-settings-workplace ms-spd ms-sttoverlay ms-transit-to ms-useractivityset
    ms-virtualtouchpad ms-visio ms-walk-to ms-whiteboard ms-whiteboard-cmd ms-word msnim
    msrp msrps mss mtqp mumble mupdate mvn news nfs ni nih nntp notes ocf oid onenote
    onenote-cmd opaquelocktoken openpgp4fpr pack palm paparazzi payto pkcs11 platform pop
    pres prospero proxy pwid psyc pttp qb query redis rediss reload res resource rmi rsync
    rtmfp rtmp rtsp rtsps rtspu s3 secondlife service session sftp sgn shttp sieve
    simpleledger sip sips skype smb sms smtp snews snmp soap.beep soap.beeps soldat spiffe
    spotify ssh steam stun stuns submit svn tag teamspeak tel teliaeid telnet tftp tg things
    thismessage tip tn3270 tool ts3server turn turns tv udp unreal urn ut2004 v-event vemmi
    ventrilo videotex vnc view-source wais webcal wpid ws wss wtai wyciwyg xcon xcon-userid
    xfire xmlrpc.beep xmlrpc.beeps xmpp xri ymsgr z39.50 z39.50r z39.50s
    """.split()
)


# Non-ASCII characters are folded before matching: letters and numbers (Unicode L, N) to "g",
# symbols (S) to "\x01", anything else to "\x00", so the pattern itself stays ASCII and small;
# "g" is not a hex digit, so a folded letter never completes a %XX escape.
# ASCII symbols are category S too: $ + < = > ^ ` | ~.
_LN = "A-Za-z0-9"
_ASCII_SYMBOLS = r"$+<=>^`|~"
_PCT = "%[0-9A-Fa-f]{2}"
_USER = f"(?:[_.{_LN}-]|{_PCT})+"
_AUTH = re.compile(f"(?:{_USER}:)?{_USER}@", re.IGNORECASE)
_HOST = (
    f"(?:[{_LN}\x01{re.escape(_ASCII_SYMBOLS)}_.-]+(?:\\.?(?:[{_LN}]|xn--[{_LN}-]+))+\\.?"
    r"|\[(?P<v6>[0-9A-Fa-f:.]+)\])"
)
_PATH = f"(?:/(?:[{_LN}._~!$&'()*+,;=:@-]|{_PCT})*)*"
_QUERY = f"(?:\\?(?:[{_LN}._~!$&'\\[\\]()*+,;=:@/?-]|{_PCT})*)?"
_FRAGMENT = f"(?:\\#(?:[{_LN}._~!$&'()*+,;=:@/?-]|{_PCT})*)?"
_TAIL = re.compile(f"{_HOST}(?::[0-9]+)?{_PATH}{_QUERY}{_FRAGMENT}\\n?\\Z", re.IGNORECASE)


def _fold(text: str) -> str:
    out = []
    for c in text:
        if c < "\x80":
            out.append(c)
            continue
        major = unicodedata.category(c)[0]
        out.append("g" if major in "LN" else "\x01" if major == "S" else "\x00")
    return "".join(out)


def _ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def is_valid_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    scheme, sep, after = value.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        return False
    folded = _fold(after)
    starts = [0]
    found_auth = _AUTH.match(folded)
    if found_auth:
        starts.insert(0, found_auth.end())
    for start in starts:
        found = _TAIL.match(folded, start)
        if found and (found.group("v6") is None or _ipv6(found.group("v6"))):
            return True
    return False
