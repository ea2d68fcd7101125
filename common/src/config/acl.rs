//! ACLs and the conditions built from them (`acl NAME FETCH [-m METHOD] PATTERNS…`,
//! `if|unless A B || !C`), as HTTP rules, TCP rules and `use_backend` share them: the fetches a
//! test reads and where it may run (HAProxy's sample fetch capabilities, `SMP_VAL_*`).

use super::pattern::{IntMatcher, IpNet, StrMatcher};
use super::payload::{BytesMatcher, PayloadAt};
use serde::{Deserialize, Serialize};

/// One test an ACL makes on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AclTest {
    /// `hdr(name)`, `hdr_beg`, `hdr_end`, `hdr_sub`: each comma-separated value of each
    /// occurrence of the header (name stored lowercased). Matches if any value matches.
    Header { name: String, matcher: StrMatcher },
    /// `path`, `path_beg`, `path_end`, `path_sub`: the URI's path, without the query string.
    Path(StrMatcher),
    /// `url`, `url_beg`, `url_end`, `url_sub`: the request target as received.
    Url(StrMatcher),
    /// `method`, case-sensitive unless `-i`.
    Method(StrMatcher),
    /// `req.ver`: `1.0` or `1.1`.
    Version(StrMatcher),
    /// `src`: the client address is in one of the blocks.
    Src(Vec<IpNet>),
    /// `src_port`: the client's port (layer 4; mode tcp only for now).
    SrcPort(IntMatcher),
    /// `dst`: the address the client connected to (a received PROXY header's destination).
    Dst(Vec<IpNet>),
    /// `dst_port`: the port the client connected to.
    DstPort(IntMatcher),
    /// `fe_name`: the frontend's name.
    FeName(StrMatcher),
    /// `nbsrv(BACKEND)`: how many servers of the backend are usable (HAProxy's
    /// `be_usable_srv()`); `id` is its index in `Config::backends`, set by validation.
    Nbsrv { backend: String, id: usize, ints: IntMatcher },
    /// `always_true` / `always_false` (the predefined `TRUE` / `FALSE`).
    Const(bool),
    /// `req.len`: how many request bytes have arrived (mode tcp content inspection).
    ReqLen(IntMatcher),
    /// `req.payload(off,len)`, `req.payload_lv(off1,len1[,off2])`: bytes of the request.
    Payload { at: PayloadAt, matcher: BytesMatcher },
    /// `srv_is_up([BACKEND/]SERVER)`: a boolean, matched without patterns (HAProxy's
    /// `smp_fetch_srv_is_up()`). `backend` `None`: the proxy's own. `id` is (backend index,
    /// server index), set by validation.
    SrvIsUp { backend: Option<String>, server: String, id: (usize, usize) },
    /// `connslots([BACKEND])`: free connection and queue slots of the backend's servers that
    /// are not stopped (HAProxy's `smp_fetch_connslots()`). `backend` `None`: the proxy's own;
    /// `id` `None` once validated: a frontend without servers, whose value is 0.
    ConnSlots { backend: Option<String>, id: Option<usize>, ints: IntMatcher },
    /// `req.ssl_sni`: the server name of a TLS ClientHello at the start of the request.
    SslSni(StrMatcher),
    /// `req.ssl_hello_type`: the handshake type of a TLS record at the start of the request
    /// (1: ClientHello).
    SslHelloType(IntMatcher),
    /// `res.len`: how many response bytes have arrived (`tcp-response content` inspection).
    ResLen(IntMatcher),
    /// `res.payload(off,len)`, `res.payload_lv(off1,len1[,off2])`: bytes of the response.
    ResPayload { at: PayloadAt, matcher: BytesMatcher },
    /// `so_id`: the id of the listener the connection came through; HAProxy numbers a
    /// proxy's binds from 1 in config order when no `id` is given, and so does hakeeper.
    SoId(IntMatcher),
    /// The front connection's TLS (HAProxy's `ssl_fc*`, `ssl_c_*` fetches): see [`TlsFetch`].
    Tls(TlsFetch),
    /// A stick-table counter: `sc_*`, `scN_*`, `src_*` (see [`super::stick_syntax`]).
    Stick(super::stick_syntax::StickFetch),
}

/// A fetch of the client connection's TLS, available once its handshake is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TlsFetch {
    /// `ssl_fc`: the connection is TLS (a boolean).
    Fc,
    /// `ssl_fc_sni`: the server name the client sent.
    Sni(StrMatcher),
    /// `ssl_fc_protocol`: `TLSv1.2` or `TLSv1.3`.
    Protocol(StrMatcher),
    /// `ssl_fc_cipher`: the suite, by its OpenSSL name.
    Cipher(StrMatcher),
    /// `ssl_fc_alpn`: the protocol ALPN chose.
    Alpn(StrMatcher),
    /// `ssl_c_used`: the client sent a certificate (a boolean).
    CUsed,
    /// `ssl_c_verify`: the verification result of the client certificate (0: valid; a
    /// handshake with an invalid one fails, so a session only ever sees 0).
    CVerify(IntMatcher),
}

impl AclTest {
    /// Whether the test reads only what a connection has before any byte of data (layer 4),
    /// so that `tcp-request connection` rules and mode tcp can use it.
    pub fn is_layer4(&self) -> bool {
        matches!(
            self,
            AclTest::Src(_)
                | AclTest::SrcPort(_)
                | AclTest::Dst(_)
                | AclTest::DstPort(_)
                | AclTest::FeName(_)
                | AclTest::Nbsrv { .. }
                | AclTest::Const(_)
                | AclTest::SrvIsUp { .. }
                | AclTest::ConnSlots { .. }
                | AclTest::SoId(_)
                | AclTest::Stick(_)
        )
    }

    /// Whether the test reads the request's first bytes (`req.len`, `req.payload*`), which only
    /// `tcp-request content` rules and `use_backend` in mode tcp can use.
    pub fn is_content(&self) -> bool {
        matches!(self, AclTest::ReqLen(_) | AclTest::Payload { .. } | AclTest::SslSni(_) | AclTest::SslHelloType(_))
    }

    /// Whether the test reads the response's first bytes (`res.len`, `res.payload*`), which only
    /// `tcp-response content` rules can use.
    pub fn is_response_content(&self) -> bool {
        matches!(self, AclTest::ResLen(_) | AclTest::ResPayload { .. })
    }

    /// Whether the test reads the connection beyond the client's address (ports, destination,
    /// frontend, listener, servers' states): HTTP rules then hand their ACLs a view of it.
    pub fn reads_connection(&self) -> bool {
        (self.is_layer4() && !matches!(self, AclTest::Src(_) | AclTest::Const(_))) || self.is_tls()
    }

    /// Whether the test reads the client connection's TLS, known once its handshake is done
    /// (so not in `tcp-request connection` or `session` rules, which run before).
    pub fn is_tls(&self) -> bool {
        matches!(self, AclTest::Tls(_))
    }
}

/// A named ACL: HAProxy ORs every `acl` line that shares a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    pub name: String,
    pub tests: Vec<AclTest>,
}

/// One ACL in a condition, possibly negated (`!name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclRef {
    pub negate: bool,
    /// Index into the proxy's `acls`.
    pub acl: usize,
}

/// `if|unless A B || !C`: an OR of ANDs, negated as a whole by `unless`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cond {
    pub unless: bool,
    pub any_of: Vec<Vec<AclRef>>,
}
