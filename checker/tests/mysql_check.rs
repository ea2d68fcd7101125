//! The MySQL check against a scripted server speaking the protocol: the login packet carries the
//! configured user, an OK reply passes and an ERR reply fails, as in HAProxy's mysql-check.

mod support;

use hakeeper_common::config::HealthCheck;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use support::*;

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(payload);
    p
}

fn greeting() -> Vec<u8> {
    let mut p = vec![10u8];
    p.extend_from_slice(b"5.5.5-10.11.19-fake\0");
    p.extend_from_slice(&[1, 0, 0, 0]);
    p.extend_from_slice(&[b'a'; 8]);
    p.push(0);
    p.extend_from_slice(&[0xff, 0xf7, 0x2d, 0x02, 0x00, 0xff, 0x81, 21]);
    p.extend_from_slice(&[0u8; 10]);
    p.extend_from_slice(&[b'b'; 12]);
    p.push(0);
    p.extend_from_slice(b"mysql_native_password\0");
    packet(0, &p)
}

#[test]
fn mysql_check_sends_the_user_and_judges_ok_and_err() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let deny = Arc::new(AtomicBool::new(true));
    let stop = Arc::new(AtomicBool::new(false));
    let logins: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let (d, s, l) = (deny.clone(), stop.clone(), logins.clone());
    let fake = std::thread::spawn(move || {
        while !s.load(Ordering::SeqCst) {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(ms(2));
                continue;
            };
            let _ = conn.set_nonblocking(false);
            let _ = conn.set_read_timeout(Some(ms(1000)));
            if conn.write_all(&greeting()).is_err() {
                continue;
            }
            // The login packet, then COM_QUIT, possibly in one segment.
            let mut got = Vec::new();
            let mut buf = [0u8; 512];
            while got.len() < 4 || got.len() < 4 + (got[0] as usize | (got[1] as usize) << 8) {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            l.lock().unwrap().push(got);
            let reply = if d.load(Ordering::SeqCst) {
                let mut e = vec![0xff, 0x15, 0x04, b'#'];
                e.extend_from_slice(b"28000Access denied for user 'hkcheck'@'127.0.0.1'");
                packet(2, &e)
            } else {
                packet(2, &[0, 0, 0, 2, 0, 0, 0])
            };
            let _ = conn.write_all(&reply);
        }
    });

    let servers = vec![server("db1", addr, Some(check(ms(200), 1, 1, addr.port())))];
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("db", HealthCheck::Mysql { user: "hkcheck".into() }, servers)]));
    let (_, _, up, reason, _, _) = checker.server_change(ms(1500)).expect("DOWN on ERR");
    assert!(!up);
    assert_eq!(reason, "Layer7 wrong status, code: 1045, info: \"Access denied for user 'hkcheck'@'127.0.0.1'\"");

    deny.store(false, Ordering::SeqCst);
    let (_, _, up, reason, _, _) = checker.server_change(ms(1500)).expect("UP on OK");
    assert!(up);
    assert_eq!(reason, "Layer7 check passed, code: 0, info: \"5.5.5-10.11.19-fake\"");
    checker.stop();

    let login = logins.lock().unwrap()[0].clone();
    assert_eq!(login[3], 1, "the login is the second packet of the exchange");
    let user_at = 4 + 32;
    assert_eq!(&login[user_at..user_at + 8], b"hkcheck\0");
    stop.store(true, Ordering::SeqCst);
    let _ = fake.join();
}
