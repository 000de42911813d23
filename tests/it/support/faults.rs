//! A fault-injecting HTTP proxy between Meridian and moto, on loopback only: requests are
//! matched by method, path, `X-Amz-Target` and body, and by hit count; a matching request gets
//! a fault instead of (or besides) being forwarded. Every connection is served by a thread that
//! ends with it; nothing outlives the test process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a matching request gets.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum Fault {
    /// An AWS error answer with this HTTP status and code, not forwarded.
    Error(u16, &'static str),
    /// Forwarded after a pause.
    Delay(Duration),
    /// The connection is closed before the request is forwarded.
    ResetBefore,
    /// The request is forwarded (and acted on), then the connection closed without an answer.
    ResetAfter,
    /// A 200 whose body is not an AWS answer.
    Garbage,
    /// Forwarded, with every INSYNC in the answer turned into PENDING.
    Pending,
}

/// One rule: which requests, which of their hits, and the fault.
#[derive(Debug, Clone)]
pub struct Rule {
    /// A substring of `METHOD PATH` plus the X-Amz-Target header plus the body.
    pub matches: &'static str,
    /// Hits of this rule that get the fault: the first `count` after `skip`.
    pub skip: usize,
    pub count: usize,
    pub fault: Fault,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<(Rule, usize)>,
    /// Faults injected, as `matches: fault`.
    injected: Vec<String>,
    /// Connections being served (a delayed request is still to be forwarded).
    active: usize,
}

/// A running proxy to `upstream` (a loopback port).
pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let state = shared.clone();
                if let Ok(mut s) = state.lock() {
                    s.active += 1;
                }
                std::thread::spawn(move || {
                    serve(conn, upstream, &state);
                    if let Ok(mut s) = state.lock() {
                        s.active -= 1;
                    }
                });
            }
        });
        Proxy { port, state }
    }

    /// Replaces the rules (and forgets what was injected).
    pub fn set(&self, rules: Vec<Rule>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.rules = rules.into_iter().map(|r| (r, 0)).collect();
        s.injected.clear();
    }

    /// Waits (up to 60 s) until every connection is served: a request delayed past the
    /// client's timeout has then reached the server, as it would in time.
    pub fn wait_idle(&self) {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if self.state.lock().map_or(0, |s| s.active) == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The faults injected since the rules were set.
    pub fn injected(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.injected.clone())
            .unwrap_or_default()
    }
}

/// One request as read from the client.
struct Request {
    head: String,
    body: Vec<u8>,
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request { head, body })
}

fn fault_for(state: &Mutex<State>, req: &Request) -> Option<Fault> {
    let first = req.head.lines().next().unwrap_or_default();
    let target = req
        .head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("x-amz-target"))
        .unwrap_or_default();
    let text = format!("{first} {target} {}", String::from_utf8_lossy(&req.body));
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let State {
        rules, injected, ..
    } = &mut *s;
    for (rule, hits) in rules.iter_mut() {
        if !text.contains(rule.matches) {
            continue;
        }
        *hits += 1;
        if *hits > rule.skip && *hits <= rule.skip + rule.count {
            injected.push(format!("{}: {:?}", rule.matches, rule.fault));
            return Some(rule.fault.clone());
        }
    }
    None
}

/// Forwards one request to moto on a fresh connection and returns the whole answer.
fn forward(upstream: u16, req: &Request) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    let _ = up.set_read_timeout(Some(Duration::from_secs(20)));
    let head: String = req
        .head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    up.write_all(head.as_bytes()).ok()?;
    up.write_all(b"Connection: close\r\n\r\n").ok()?;
    up.write_all(&req.body).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    Some(answer)
}

fn error_answer(status: u16, code: &str) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
    );
    format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: text/xml\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The answer with INSYNC turned into PENDING in its body, and its length fixed.
fn pending(answer: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return answer.to_vec();
    };
    let body = body.replace("INSYNC", "PENDING");
    let head: String = head
        .lines()
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("content-length:") {
                format!("Content-Length: {}", body.len())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    format!("{head}\r\n\r\n{body}").into_bytes()
}

/// Serves one client connection: one request, then the connection closes (as moto's do).
fn serve(conn: TcpStream, upstream: u16, state: &Mutex<State>) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let mut reader = BufReader::new(conn);
    let Some(req) = read_request(&mut reader) else {
        return;
    };
    let answer = match fault_for(state, &req) {
        None => forward(upstream, &req),
        Some(Fault::Error(status, code)) => Some(error_answer(status, code)),
        Some(Fault::Delay(d)) => {
            std::thread::sleep(d);
            forward(upstream, &req)
        }
        Some(Fault::ResetBefore) => None,
        Some(Fault::ResetAfter) => {
            let _ = forward(upstream, &req);
            None
        }
        Some(Fault::Garbage) => Some(
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n<garbage>".to_vec(),
        ),
        Some(Fault::Pending) => forward(upstream, &req).map(|a| pending(&a)),
    };
    match answer {
        Some(a) => {
            let _ = out.write_all(&a);
        }
        None => {
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
    }
}
