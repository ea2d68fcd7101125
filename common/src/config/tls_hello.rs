//! `req.ssl_sni` and `req.ssl_hello_type`: what a TLS ClientHello at the start of the request
//! says, read from the inspected bytes without decrypting anything (HAProxy's
//! `smp_fetch_ssl_hello_sni()` and `smp_fetch_ssl_hello_type()`, with their checks and their
//! "too short: wait" versus "not a hello: never" outcomes), so that TLS can be passed through
//! by server name.
//!
//! ```text
//! TLS record:    type (0x16 handshake) | version (>= 3.x) | length (u16)
//! handshake:     msg_type (0x01 ClientHello) | length (u24)
//! ClientHello:   client_version (>= 3.1) | random[32] | session_id_len (<= 32) | session_id
//!                cipher_suites_len (u16, >= 2) | cipher_suites
//!                compression_len (u8, >= 1) | compression_methods
//!                extensions_len (u16) | extensions: type (u16) | len (u16) | data
//! server_name:   list_len (u16, >= 4) | name_type (0 = host_name) | name_len (u16) | name
//! ```
//!
//! Every read is bounds-checked: hostile bytes give "not a hello", never a panic. Where
//! HAProxy reads the host name without checking that it lies within the buffer, hakeeper
//! treats a name that runs past the data as "not a hello".

use super::payload::Slice;

/// Reads a big-endian number of `n` bytes at `at`.
fn be(data: &[u8], at: usize, n: usize) -> Option<usize> {
    data.get(at..at.checked_add(n)?).map(|b| b.iter().fold(0usize, |acc, x| (acc << 8) | usize::from(*x)))
}

/// The smallest ClientHello that can carry an extension, from the handshake header on, as
/// HAProxy counts it (record check), and from the client version on (handshake check).
const MIN_RECORD: usize = 1 + 3 + 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2;
const MIN_HELLO: usize = 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2;

/// The server name of a ClientHello at the start of `data`: `Found(name, false)`, `TooShort`
/// while more bytes could complete the hello, `Never` when it is not a hello with a name.
pub fn sni(data: &[u8]) -> Slice<'_> {
    match sni_inner(data) {
        Step::Done(name) => Slice::Found(name, false),
        Step::More => Slice::TooShort,
        Step::Not => Slice::Never,
    }
}

enum Step<T> {
    Done(T),
    More,
    Not,
}

macro_rules! need {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return Step::Not,
        }
    };
}

fn sni_inner(data: &[u8]) -> Step<&[u8]> {
    let Some(&kind) = data.first() else { return Step::More };
    if kind != 0x16 {
        return Step::Not;
    }
    if data.len() < 3 {
        return Step::More;
    }
    if data[1] < 0x03 {
        return Step::Not;
    }
    if data.len() < 5 {
        return Step::More;
    }
    if need!(be(data, 3, 2)) < MIN_RECORD {
        return Step::Not;
    }
    let hs = &data[5..];
    let Some(&msg_type) = hs.first() else { return Step::More };
    if msg_type != 0x01 {
        return Step::Not;
    }
    if hs.len() < 4 {
        return Step::More;
    }
    let mut left = need!(be(hs, 1, 3));
    if left < MIN_HELLO {
        return Step::Not;
    }
    // The whole hello must be there. HAProxy compares the length with what follows the
    // record header, 4 bytes short of the message's end, and may read those 4 bytes before
    // they arrive; hakeeper waits for them.
    if hs.len() < 4 + left {
        return Step::More;
    }
    let hello = &hs[4..];
    if need!(hello.first()) < &0x03 || need!(hello.get(1)) < &0x01 {
        return Step::Not;
    }
    let sid = usize::from(*need!(hello.get(34)));
    if sid > 32 || sid > left.saturating_sub(35) {
        return Step::Not;
    }
    left -= 35 + sid;
    let mut at = 35 + sid;
    let ciphers = need!(be(hello, at, 2));
    if left < 4 || ciphers < 2 || ciphers > left {
        return Step::Not;
    }
    // Where HAProxy's count goes negative, its next check fails: "not a hello" here too.
    left = need!(left.checked_sub(2 + ciphers));
    at += 2 + ciphers;
    let comp = usize::from(*need!(hello.get(at)));
    if left < 2 || comp < 1 || comp > left {
        return Step::Not;
    }
    left = need!(left.checked_sub(1 + comp));
    at += 1 + comp;
    if left < 2 {
        return Step::Not;
    }
    let ext_total = need!(be(hello, at, 2));
    if ext_total > left - 2 {
        return Step::Not;
    }
    let mut left = ext_total;
    at += 2;
    while left >= 4 {
        let ext_type = need!(be(hello, at, 2));
        let ext_len = need!(be(hello, at + 2, 2));
        if ext_len > left - 4 {
            return Step::Not;
        }
        if ext_type == 0 {
            if ext_len < 2 {
                return Step::Not;
            }
            let list = need!(be(hello, at + 4, 2));
            if list < 4 || list > left.saturating_sub(6) {
                return Step::Not;
            }
            if *need!(hello.get(at + 6)) == 0 {
                let len = need!(be(hello, at + 7, 2));
                return Step::Done(need!(hello.get(at + 9..at + 9 + len)));
            }
        }
        left -= 4 + ext_len;
        at += 4 + ext_len;
    }
    Step::Not
}

/// The handshake type of a TLS record at the start of `data` (1 for a ClientHello), once the
/// whole handshake message is there (HAProxy's `smp_fetch_ssl_hello_type()`): `Some(Ok(t))`,
/// `Some(Err(()))` while too short, `None` when it is not a TLS record.
pub fn hello_type(data: &[u8]) -> Option<Result<i64, ()>> {
    let &kind = match data.first() {
        Some(k) => k,
        None => return Some(Err(())),
    };
    if !((0x14..=0x17).contains(&kind) || kind == 0xff) {
        return None;
    }
    if data.len() < 9 {
        return Some(Err(()));
    }
    if (usize::from(data[1]) << 16) + usize::from(data[2]) < 0x0003_0000 {
        return None;
    }
    if (usize::from(data[3]) << 8) + usize::from(data[4]) < 4 {
        return None;
    }
    let hs_len = (usize::from(data[6]) << 16) + (usize::from(data[7]) << 8) + usize::from(data[8]);
    if data.len() < 9 + hs_len {
        return Some(Err(()));
    }
    Some(Ok(i64::from(data[5])))
}

/// A ClientHello record naming `name`, as a TLS client would send it (tests and fixtures).
pub fn client_hello(name: &str) -> Vec<u8> {
    let name = name.as_bytes();
    let mut sni = Vec::new();
    sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut exts = Vec::new();
    // A supported_groups extension first, so that the name is not the first extension.
    exts.extend_from_slice(&[0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d]);
    exts.extend_from_slice(&[0x00, 0x00]);
    exts.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    exts.extend_from_slice(&sni);
    let mut hello = vec![0x03, 0x03];
    hello.extend_from_slice(&[0x5a; 32]);
    hello.push(0);
    hello.extend_from_slice(&[0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
    hello.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    hello.extend_from_slice(&exts);
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&hello);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_name_of_a_client_hello() {
        let hello = client_hello("a.example");
        assert_eq!(sni(&hello), Slice::Found(b"a.example", false));
        assert_eq!(hello_type(&hello), Some(Ok(1)));
        // Each prefix is "wait for more" (or, once the name is in, already the name), never a
        // wrong answer.
        for n in 0..hello.len() {
            match sni(&hello[..n]) {
                Slice::TooShort => {}
                Slice::Found(name, _) => assert_eq!(name, b"a.example", "prefix {n}"),
                Slice::Never => panic!("prefix {n} said not a hello"),
            }
            assert!(matches!(hello_type(&hello[..n]), Some(Err(()))), "prefix {n}");
        }
        assert_eq!(sni(b"GET / HTTP/1.1\r\n"), Slice::Never);
        assert_eq!(hello_type(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(sni(b"\x16\x02\x00"), Slice::Never, "SSLv2-era record version");
    }

    #[test]
    fn hostile_records_never_panic_nor_read_past_the_data() {
        let hello = client_hello("name.example.org");
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000 {
            let mut bytes = hello.clone();
            // Flip a few bytes (lengths included), truncate, or append garbage.
            for _ in 0..(rnd() % 4 + 1) {
                let i = (rnd() as usize) % bytes.len();
                bytes[i] = rnd() as u8;
            }
            let cut = if round % 3 == 0 { (rnd() as usize) % (bytes.len() + 1) } else { bytes.len() };
            bytes.truncate(cut);
            if round % 5 == 0 {
                bytes.extend((0..rnd() % 64).map(|_| rnd() as u8));
            }
            if let Slice::Found(name, _) = sni(&bytes) {
                let start = name.as_ptr() as usize - bytes.as_ptr() as usize;
                assert!(start + name.len() <= bytes.len());
            }
            let _ = hello_type(&bytes);
        }
        // Pure garbage of every short length.
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            let _ = sni(&bytes);
            let _ = hello_type(&bytes);
        }
        // A name length that runs past the data is "not a hello" (HAProxy would over-read).
        let mut long = client_hello("x.example");
        let at = long.len() - "x.example".len() - 2;
        long[at..at + 2].copy_from_slice(&0xfff0u16.to_be_bytes());
        assert_eq!(sni(&long), Slice::Never);
    }
}
