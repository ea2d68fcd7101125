//! The connection machine fed with frames as a client sends them; the frames it writes back
//! and the events it raises are compared with what RFC 9113 requires (and h2spec checks).

use std::time::{Duration, Instant};

use super::conn::{Config, Connection, Event};
use super::error::{ErrorCode, Flood, H2Error};
use super::frame::{FrameHeader, Kind, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM, FLAG_PRIORITY, HEADER_LEN, PREFACE};
use super::hpack;
use super::limits::Limits;
use super::settings::LocalSettings;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Out {
    kind: Kind,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    FrameHeader { length: payload.len() as u32, kind: Kind::from_u8(kind), flags, stream }.encode(&mut v);
    v.extend_from_slice(payload);
    v
}

fn get_block(path: &str) -> Vec<u8> {
    let f: Vec<(&[u8], &[u8])> =
        vec![(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a.test"), (b":path", path.as_bytes())];
    hpack::encode(f)
}

fn post_block(len: Option<&str>) -> Vec<u8> {
    let mut f: Vec<(&[u8], &[u8])> = vec![(b":method", b"POST"), (b":scheme", b"http"), (b":authority", b"a.test"), (b":path", b"/up")];
    if let Some(l) = len {
        f.push((b"content-length", l.as_bytes()));
    }
    hpack::encode(f)
}

struct Client {
    c: Connection,
    now: Instant,
}

impl Client {
    fn with(cfg: Config) -> Client {
        let mut c = Client { c: Connection::new(cfg), now: Instant::now() };
        let mut hello = PREFACE.to_vec();
        hello.extend(raw(4, 0, 0, &[]));
        c.send(&hello).unwrap();
        let out = c.read();
        assert_eq!(out[0].kind, Kind::Settings);
        assert_eq!(out.last().unwrap(), &Out { kind: Kind::Settings, flags: FLAG_ACK, stream: 0, payload: vec![] });
        c
    }

    fn new() -> Client {
        Client::with(Config::default())
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), H2Error> {
        self.c.recv(bytes, self.now)
    }

    fn frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Result<(), H2Error> {
        self.send(&raw(kind, flags, stream, payload))
    }

    fn read(&mut self) -> Vec<Out> {
        let bytes = self.c.output().to_vec();
        self.c.consume_output(bytes.len());
        let mut v = Vec::new();
        let mut p = 0;
        while let Some(h) = FrameHeader::decode(&bytes[p..]) {
            let end = p + HEADER_LEN + h.length as usize;
            v.push(Out { kind: h.kind, flags: h.flags, stream: h.stream, payload: bytes[p + HEADER_LEN..end].to_vec() });
            p = end;
        }
        assert_eq!(p, bytes.len());
        v
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.c.poll_event()).collect()
    }

    fn goaway_code(&mut self) -> ErrorCode {
        let out = self.read();
        let g = out.iter().find(|f| f.kind == Kind::GoAway).expect("a GOAWAY");
        ErrorCode::from_u32(u32::from_be_bytes(g.payload[4..8].try_into().unwrap()))
    }

    fn rst(&mut self, stream: u32) -> Option<ErrorCode> {
        self.read()
            .iter()
            .find(|f| f.kind == Kind::RstStream && f.stream == stream)
            .map(|f| ErrorCode::from_u32(u32::from_be_bytes(f.payload[..4].try_into().unwrap())))
    }
}

fn conn_error(r: Result<(), H2Error>) -> ErrorCode {
    match r {
        Err(e) => e.goaway_code(),
        Ok(()) => panic!("expected a connection error"),
    }
}

#[test]
fn server_preface_is_settings_and_the_connection_window() {
    let local = LocalSettings { initial_window_size: 1 << 20, ..Default::default() };
    let mut c = Connection::new(Config { local, limits: Limits::default() });
    let bytes = c.output().to_vec();
    let h = FrameHeader::decode(&bytes).unwrap();
    assert_eq!(h.kind, Kind::Settings);
    let w = FrameHeader::decode(&bytes[HEADER_LEN + h.length as usize..]).unwrap();
    assert_eq!((w.kind, w.stream), (Kind::WindowUpdate, 0));
    c.consume_output(bytes.len());
    assert!(c.output().is_empty());
}

#[test]
fn a_bad_preface_or_a_first_frame_other_than_settings_is_a_protocol_error() {
    let mut c = Connection::new(Config::default());
    assert_eq!(conn_error(c.recv(b"GET / HTTP/1.1\r\n", Instant::now())), ErrorCode::ProtocolError);
    let mut c = Connection::new(Config::default());
    let mut b = PREFACE.to_vec();
    b.extend(raw(6, 0, 0, &[0; 8]));
    assert_eq!(conn_error(c.recv(&b, Instant::now())), ErrorCode::ProtocolError);
    // The preface may come in pieces.
    let mut c = Connection::new(Config::default());
    c.recv(&PREFACE[..5], Instant::now()).unwrap();
    c.recv(&PREFACE[5..], Instant::now()).unwrap();
    c.recv(&raw(4, 0, 0, &[]), Instant::now()).unwrap();
}

#[test]
fn a_get_becomes_a_request_event_and_the_response_goes_back() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/a")).unwrap();
    let ev = c.events();
    let Event::Request { stream: 1, head, end_stream: true } = &ev[0] else { panic!("{ev:?}") };
    assert_eq!(head.path.as_deref(), Some(&b"/a"[..]));
    c.c.send_headers(1, &[(b":status", b"200"), (b"content-type", b"text/plain")], false).unwrap();
    assert_eq!(c.c.send_data(1, b"hello", true, c.now).unwrap(), 5);
    let out = c.read();
    assert_eq!(out[0].kind, Kind::Headers);
    assert_eq!(out[0].flags, FLAG_END_HEADERS);
    assert_eq!(hpack::Decoder::new(4096, 1 << 16, 101).decode(&out[0].payload).unwrap()[0], (b":status".to_vec(), b"200".to_vec()));
    assert_eq!(out[1].payload, b"hello");
    assert!(out.last().unwrap().flags & FLAG_END_STREAM != 0);
    assert_eq!(c.c.active_streams(), 0);
    // The stream is closed: sending again is refused.
    assert!(c.c.send_data(1, b"x", true, c.now).is_err());
}

#[test]
fn a_body_with_content_length_and_trailers() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(Some("5"))).unwrap();
    c.frame(0, 0, 1, b"hel").unwrap();
    c.frame(0, 0, 1, b"lo").unwrap();
    let t = hpack::encode([(&b"x-sum"[..], &b"1"[..])]);
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &t).unwrap();
    let ev = c.events();
    assert!(matches!(ev[1], Event::Data { stream: 1, ref data, end_stream: false } if data == b"hel"));
    assert!(matches!(ev[3], Event::Trailers { stream: 1, .. }));
}

#[test]
fn data_differing_from_content_length_resets_the_stream() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(Some("2"))).unwrap();
    c.frame(0, FLAG_END_STREAM, 1, b"abc").unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::ProtocolError));
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(Some("4"))).unwrap();
    c.frame(0, FLAG_END_STREAM, 1, b"abc").unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::ProtocolError));
    assert!(c.events().iter().any(|e| matches!(e, Event::Reset { stream: 1, code: ErrorCode::ProtocolError })));
    // HEADERS with END_STREAM and a content-length above 0.
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &post_block(Some("4"))).unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::ProtocolError));
}

#[test]
fn a_malformed_request_is_a_stream_error_and_the_connection_goes_on() {
    let mut c = Client::new();
    let bad = hpack::encode([(&b":method"[..], &b"GET"[..]), (b":path", b"/"), (b":scheme", b"http"), (b"connection", b"close")]);
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &bad).unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::ProtocolError));
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 3, &get_block("/")).unwrap();
    assert!(c.events().iter().any(|e| matches!(e, Event::Request { stream: 3, .. })));
    // Trailers without END_STREAM.
    c.frame(1, FLAG_END_HEADERS, 5, &post_block(None)).unwrap();
    c.frame(1, FLAG_END_HEADERS, 5, &hpack::encode([(&b"x"[..], &b"1"[..])])).unwrap();
    assert_eq!(c.rst(5), Some(ErrorCode::ProtocolError));
}

#[test]
fn stream_identifier_rules_of_5_1_1() {
    let mut c = Client::new();
    assert_eq!(conn_error(c.frame(1, FLAG_END_HEADERS, 2, &get_block("/"))), ErrorCode::ProtocolError);
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 5, &get_block("/")).unwrap();
    assert_eq!(conn_error(c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 3, &get_block("/"))), ErrorCode::ProtocolError);
    // A stream we saw closed gets STREAM_CLOSED.
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    c.frame(3, 0, 1, &8u32.to_be_bytes()).unwrap();
    assert_eq!(conn_error(c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/"))), ErrorCode::StreamClosed);
}

#[test]
fn frames_on_idle_streams_are_protocol_errors() {
    for (kind, payload) in [(0u8, &b"x"[..]), (3, &[0, 0, 0, 8][..]), (8, &[0, 0, 0, 1][..])] {
        let mut c = Client::new();
        assert_eq!(conn_error(c.frame(kind, 0, 1, payload)), ErrorCode::ProtocolError, "type {kind}");
    }
    // PRIORITY on an idle stream is allowed (§5.1).
    let mut c = Client::new();
    c.frame(2, 0, 9, &[0, 0, 0, 1, 16]).unwrap();
    assert!(c.read().is_empty());
}

#[test]
fn half_closed_remote_streams_answer_stream_closed() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/")).unwrap();
    c.frame(0, 0, 1, b"late").unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::StreamClosed));
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/")).unwrap();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &hpack::encode([(&b"x"[..], &b"1"[..])])).unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::StreamClosed));
}

#[test]
fn field_blocks_span_continuations_and_nothing_may_interleave() {
    let mut c = Client::new();
    let b = get_block("/cont");
    c.frame(1, 0, 1, &b[..3]).unwrap();
    c.frame(9, 0, 1, &b[3..6]).unwrap();
    c.frame(9, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &b[6..]).unwrap();
    // END_STREAM belongs to HEADERS: the flag bit on CONTINUATION means nothing.
    assert!(matches!(c.events()[0], Event::Request { stream: 1, end_stream: false, .. }));
    let mut c = Client::new();
    c.frame(1, FLAG_END_STREAM, 1, &b[..3]).unwrap();
    c.frame(9, FLAG_END_HEADERS, 1, &b[3..]).unwrap();
    assert!(matches!(c.events()[0], Event::Request { stream: 1, end_stream: true, .. }));
    let mut c = Client::new();
    c.frame(1, 0, 1, &b[..3]).unwrap();
    assert_eq!(conn_error(c.frame(6, 0, 0, &[0; 8])), ErrorCode::ProtocolError);
    let mut c = Client::new();
    c.frame(1, 0, 1, &b[..3]).unwrap();
    assert_eq!(conn_error(c.frame(9, FLAG_END_HEADERS, 3, &b[3..])), ErrorCode::ProtocolError);
    let mut c = Client::new();
    assert_eq!(conn_error(c.frame(9, FLAG_END_HEADERS, 1, &b)), ErrorCode::ProtocolError);
}

#[test]
fn bad_hpack_is_a_compression_error() {
    let mut c = Client::new();
    assert_eq!(conn_error(c.frame(1, FLAG_END_HEADERS, 1, &[0x80 | 99])), ErrorCode::CompressionError);
    assert_eq!(c.goaway_code(), ErrorCode::CompressionError);
    // Nothing more is read after a connection error.
    assert!(c.frame(4, 0, 0, &[]).is_err());
}

#[test]
fn headers_depending_on_themselves_reset_the_stream() {
    let mut c = Client::new();
    let mut p = vec![0, 0, 0, 1, 16];
    p.extend(get_block("/"));
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM | FLAG_PRIORITY, 1, &p).unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::ProtocolError));
    c.frame(2, 0, 3, &[0, 0, 0, 3, 16]).unwrap();
    assert_eq!(c.rst(3), Some(ErrorCode::ProtocolError));
}

#[test]
fn frame_larger_than_max_frame_size_is_a_frame_size_error() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    c.frame(0, 0, 1, &[0; 16384]).unwrap();
    assert_eq!(conn_error(c.frame(0, 0, 1, &[0; 16385])), ErrorCode::FrameSizeError);
}

#[test]
fn flow_control_of_received_data() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    for _ in 0..3 {
        c.frame(0, 0, 1, &[0; 16384]).unwrap();
    }
    c.frame(0, 0, 1, &[0; 16383]).unwrap();
    // The stream window (65535) is used up: one byte more is a flow-control error.
    c.frame(0, 0, 1, &[0]).unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::FlowControlError));
    // Consumed bytes open the windows again.
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    c.frame(0, 0, 1, &[0; 16384]).unwrap();
    c.frame(0, 0, 1, &[0; 16384]).unwrap();
    c.read();
    c.c.release(1, 32768);
    let out = c.read();
    assert!(out.iter().any(|f| f.kind == Kind::WindowUpdate && f.stream == 1 && f.payload == 32768u32.to_be_bytes()));
    // Beyond the connection window is a connection error.
    let local = LocalSettings { initial_window_size: 1 << 20, max_concurrent_streams: 1, ..Default::default() };
    let mut c = Client::with(Config { local, limits: Limits::default() });
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    let mut r = Ok(());
    for _ in 0..65 {
        r = r.and_then(|_| c.frame(0, 0, 1, &[0; 16384]));
    }
    assert_eq!(conn_error(r), ErrorCode::FlowControlError);
}

#[test]
fn padding_counts_against_the_window_and_is_given_back() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    let mut p = vec![200u8];
    p.extend([0u8; 16183]);
    for _ in 0..5 {
        c.frame(0, 0x8, 1, &p).unwrap();
    }
    // 5 × 16184 flow-controlled bytes, 1000 of data: the padding went back, so no error.
    assert!(c.read().iter().any(|f| f.kind == Kind::WindowUpdate));
}

#[test]
fn send_data_follows_the_client_windows_and_wakes_on_window_update() {
    let mut c = Client::new();
    c.frame(4, 0, 0, &[0, 4, 0, 0, 0, 10]).unwrap();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/")).unwrap();
    c.events();
    c.c.send_headers(1, &[(b":status", b"200")], false).unwrap();
    assert_eq!(c.c.send_data(1, &[7; 25], true, c.now).unwrap(), 10);
    assert!(c.c.send_blocked_since().is_some());
    assert_eq!(c.c.send_data(1, &[7; 15], true, c.now).unwrap(), 0);
    c.frame(8, 0, 1, &100u32.to_be_bytes()).unwrap();
    assert_eq!(c.events(), [Event::Writable { stream: 1 }]);
    assert_eq!(c.c.send_data(1, &[7; 15], true, c.now).unwrap(), 15);
    assert!(c.c.send_blocked_since().is_none());
    // A SETTINGS raising the initial window wakes blocked streams too.
    let mut c = Client::new();
    c.frame(4, 0, 0, &[0, 4, 0, 0, 0, 0]).unwrap();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/")).unwrap();
    c.events();
    assert_eq!(c.c.send_data(1, b"abc", true, c.now).unwrap(), 0);
    c.frame(4, 0, 0, &[0, 4, 0, 0, 0, 5]).unwrap();
    assert_eq!(c.events(), [Event::Writable { stream: 1 }]);
}

#[test]
fn window_update_errors() {
    let mut c = Client::new();
    assert_eq!(conn_error(c.frame(8, 0, 0, &[0; 4])), ErrorCode::ProtocolError);
    let mut c = Client::new();
    assert_eq!(conn_error(c.frame(8, 0, 0, &0x7fff_ffffu32.to_be_bytes())), ErrorCode::FlowControlError);
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    c.frame(8, 0, 1, &[0; 4]).unwrap();
    assert_eq!(c.rst(1), Some(ErrorCode::ProtocolError));
    c.frame(1, FLAG_END_HEADERS, 3, &post_block(None)).unwrap();
    c.frame(8, 0, 3, &0x7fff_ffffu32.to_be_bytes()).unwrap();
    assert_eq!(c.rst(3), Some(ErrorCode::FlowControlError));
    // A SETTINGS that would push a window past 2^31-1.
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    c.frame(8, 0, 1, &0x7fff_0000u32.to_be_bytes()).unwrap();
    assert_eq!(conn_error(c.frame(4, 0, 0, &[0, 4, 0, 1, 0, 0])), ErrorCode::FlowControlError);
}

#[test]
fn settings_and_ping_are_acknowledged() {
    let mut c = Client::new();
    c.frame(6, 0, 0, b"12345678").unwrap();
    assert_eq!(c.read(), [Out { kind: Kind::Ping, flags: FLAG_ACK, stream: 0, payload: b"12345678".to_vec() }]);
    c.frame(6, FLAG_ACK, 0, b"12345678").unwrap();
    assert!(c.read().is_empty());
    c.frame(4, 0, 0, &[0, 3, 0, 0, 0, 1]).unwrap();
    assert_eq!(c.read()[0].flags, FLAG_ACK);
    assert_eq!(conn_error(c.frame(4, 0, 0, &[0, 2, 0, 0, 0, 2])), ErrorCode::ProtocolError);
}

#[test]
fn max_concurrent_streams_refuses_the_excess() {
    let local = LocalSettings { max_concurrent_streams: 2, ..Default::default() };
    let mut c = Client::with(Config { local, limits: Limits::default() });
    for id in [1, 3, 5] {
        c.frame(1, FLAG_END_HEADERS, id, &post_block(None)).unwrap();
    }
    assert_eq!(c.rst(5), Some(ErrorCode::RefusedStream));
    // The refused block was still decoded: the next one decodes with the same table.
    c.c.reset(1, ErrorCode::Cancel);
    c.frame(1, FLAG_END_HEADERS, 7, &post_block(None)).unwrap();
    assert_eq!(c.events().iter().filter(|e| matches!(e, Event::Request { .. })).count(), 3);
}

#[test]
fn client_goaway_is_reported_and_ours_lets_streams_finish() {
    let mut c = Client::new();
    c.frame(7, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(c.events(), [Event::GoAway { last_stream: 0, code: ErrorCode::NoError }]);
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/")).unwrap();
    c.c.goaway();
    // §6.8: first GOAWAY with the largest id, and a PING.
    let g = c.read();
    assert_eq!((g[0].kind, &g[0].payload[..8]), (Kind::GoAway, &[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0][..]));
    assert_eq!((g[1].kind, g[1].flags), (Kind::Ping, 0));
    // A request sent before the client saw it is still served.
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 3, &get_block("/")).unwrap();
    c.frame(6, FLAG_ACK, 0, &g[1].payload).unwrap();
    assert!(c.c.goaway_acked());
    // One the client had queued behind its answer is served too: the final GOAWAY comes at
    // the driver's next call.
    assert!(c.read().is_empty());
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 5, &get_block("/")).unwrap();
    c.c.goaway();
    let g = c.read();
    assert_eq!((g[0].kind, &g[0].payload[..8]), (Kind::GoAway, &[0, 0, 0, 5, 0, 0, 0, 0][..]));
    // A later stream is ignored, the accepted ones complete.
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 7, &get_block("/")).unwrap();
    assert_eq!(c.events().iter().filter(|e| matches!(e, Event::Request { .. })).count(), 3);
    assert!(c.read().is_empty(), "the ignored stream gets no answer");
    c.c.send_headers(1, &[(b":status", b"204")], true).unwrap();
    assert!(!c.c.is_done());
    c.c.send_headers(3, &[(b":status", b"204")], true).unwrap();
    c.c.send_headers(5, &[(b":status", b"204")], true).unwrap();
    assert!(c.c.is_done());
}

#[test]
fn a_client_that_never_acks_gets_the_final_goaway_at_the_second_call() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/")).unwrap();
    c.c.goaway();
    c.read();
    c.c.goaway();
    let g = c.read();
    assert_eq!(&g[0].payload[..8], &[0, 0, 0, 1, 0, 0, 0, 0]);
    c.c.goaway();
    assert!(c.read().is_empty(), "once only");
}

#[test]
fn unknown_frames_are_ignored() {
    let mut c = Client::new();
    c.frame(0x20, 0xff, 0, b"ext").unwrap();
    c.frame(0x20, 0, 7, b"ext").unwrap();
    assert!(c.read().is_empty());
}

// The flood guards: each trips, disconnects with ENHANCE_YOUR_CALM and is counted.

fn assert_flood(c: &mut Client, r: Result<(), H2Error>, flood: Flood) {
    assert_eq!(r, Err(H2Error::Flood(flood)));
    assert_eq!(c.goaway_code(), ErrorCode::EnhanceYourCalm);
    assert!(c.c.is_done());
}

#[test]
fn rapid_reset_is_bounded() {
    let mut c = Client::new();
    let limit = Limits::default().resets_per_sec;
    let mut r = Ok(());
    let mut id = 1;
    for _ in 0..=limit {
        r = r.and_then(|_| c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, id, &get_block("/")));
        r = r.and_then(|_| c.frame(3, 0, id, &8u32.to_be_bytes()));
        id += 2;
    }
    assert_flood(&mut c, r, Flood::RapidReset);
    assert_eq!(c.c.floods().rapid_reset, 1);
    // Below the bound, spread over seconds, resets are fine.
    let mut c = Client::new();
    for i in 0..(2 * limit) {
        c.now += Duration::from_millis(10);
        c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 2 * i + 1, &get_block("/")).unwrap();
        c.frame(3, 0, 2 * i + 1, &8u32.to_be_bytes()).unwrap();
    }
}

#[test]
fn continuation_flood_is_bounded_in_frames_and_bytes() {
    let mut c = Client::new();
    c.frame(1, 0, 1, &[]).unwrap();
    let mut r = Ok(());
    for _ in 0..=Limits::default().max_continuations {
        r = r.and_then(|_| c.frame(9, 0, 1, &[0x82]));
    }
    assert_flood(&mut c, r, Flood::Continuation);
    let mut c = Client::new();
    c.frame(1, 0, 1, &[0; 16000]).unwrap();
    c.frame(9, 0, 1, &[0; 16000]).unwrap();
    let r = c.frame(9, 0, 1, &[0; 16000]);
    assert_flood(&mut c, r, Flood::Continuation);
}

#[test]
fn hpack_bomb_is_bounded() {
    let mut c = Client::new();
    // A 4000-byte value indexed, then 100 references to it: 400 kB from about 4 kB.
    let mut block = vec![0x40, 0x01, b'x', 0x7f, 0xa1, 0x1e];
    block.extend(std::iter::repeat_n(b'a', 4000));
    block.extend(std::iter::repeat_n(0x80 | 62, 100));
    let r = c.frame(1, FLAG_END_HEADERS, 1, &block);
    assert_flood(&mut c, r, Flood::HpackBomb);
}

#[test]
fn settings_and_ping_floods_are_bounded() {
    let mut c = Client::new();
    let mut r = Ok(());
    for _ in 0..=Limits::default().settings_per_sec {
        r = r.and_then(|_| c.frame(4, 0, 0, &[]));
    }
    assert_flood(&mut c, r, Flood::Settings);
    let mut c = Client::new();
    let mut r = Ok(());
    for _ in 0..=Limits::default().pings_per_sec {
        r = r.and_then(|_| c.frame(6, 0, 0, &[0; 8]));
    }
    assert_flood(&mut c, r, Flood::Ping);
}

#[test]
fn unread_acks_are_bounded() {
    // A client that never reads: ACKs pile up until the backlog bound, whatever the rate.
    let limits = Limits { pings_per_sec: u32::MAX, ..Default::default() };
    let mut c = Client::with(Config { local: LocalSettings::default(), limits });
    let mut r = Ok(());
    let mut sent = 0;
    while r.is_ok() && sent < 100_000 {
        r = c.frame(6, 0, 0, &[0; 8]);
        sent += 1;
    }
    assert_eq!(r, Err(H2Error::Flood(Flood::ControlBacklog)));
    assert!(c.c.output().len() < limits.max_control_backlog + 64 * 1024);
}

#[test]
fn empty_frames_flood_is_bounded() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    let mut r = Ok(());
    for _ in 0..=Limits::default().glitches_per_sec {
        r = r.and_then(|_| c.frame(0, 0, 1, &[]));
    }
    assert_flood(&mut c, r, Flood::Glitches);
}

#[test]
fn a_connection_error_resets_the_streams_for_the_upper_layer() {
    let mut c = Client::new();
    c.frame(1, FLAG_END_HEADERS, 1, &post_block(None)).unwrap();
    c.events();
    let _ = c.frame(5, 0, 1, &[0; 4]);
    assert_eq!(c.events(), [Event::Reset { stream: 1, code: ErrorCode::ProtocolError }]);
}

#[test]
fn a_zero_window_stall_ends_after_the_limit() {
    let mut c = Client::new();
    c.frame(4, 0, 0, &[0, 4, 0, 0, 0, 0]).unwrap();
    c.frame(1, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &get_block("/")).unwrap();
    c.events();
    c.c.send_headers(1, &[(b":status", b"200")], false).unwrap();
    assert_eq!(c.c.send_data(1, b"body", true, c.now).unwrap(), 0);
    let limit = Duration::from_secs(50);
    assert_eq!(c.c.check_stall(c.now + Duration::from_secs(49), limit), Ok(()));
    assert_eq!(c.c.check_stall(c.now + limit, limit), Err(H2Error::Flood(Flood::ZeroWindow)));
    assert_eq!(c.goaway_code(), ErrorCode::EnhanceYourCalm);
    assert_eq!(c.c.floods().zero_window, 1);
    assert_eq!(c.events(), [Event::Reset { stream: 1, code: ErrorCode::EnhanceYourCalm }]);
}
