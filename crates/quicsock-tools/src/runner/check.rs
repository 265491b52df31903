//! What the interop runner checks after each case (`testcases_quic.py`), on the relay's
//! record and its decryption: every check returns what it saw, or why the case failed.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::packet::Version;

use super::fixture::LONG_CHAIN_BYTES;
use super::net::{Direction, Record};
use super::trace::{Kind, Packet, Seen, Trace};
use super::Case;

/// The transport error an application's close becomes outside 1-RTT packets.
const APPLICATION_ERROR: u64 = 0x0c;

/// The TLS message type of a Certificate (RFC 8446 §4).
const TLS_CERTIFICATE: u8 = 11;

/// Checks a finished cell whose downloads were already compared; returns its facts.
pub fn check(
    case: Case,
    files: &[(String, usize)],
    records: &[Record],
    trace: &Trace,
    fronts: &[SocketAddr],
) -> Result<String, String> {
    let handshakes = handshakes(trace);
    let expect = match case {
        Case::HandshakeLoss | Case::HandshakeCorruption => files.len(),
        Case::Resumption | Case::ZeroRtt => 2,
        _ => 1,
    };
    if handshakes.len() != expect {
        return Err(format!(
            "{} handshakes, expected {expect}",
            handshakes.len()
        ));
    }
    let mut facts = vec![format!("{} handshake(s)", handshakes.len())];
    let retries = trace
        .packets
        .iter()
        .filter(|p| p.kind == Kind::Retry)
        .count();
    if case != Case::Retry && retries > 0 {
        return Err(format!("{retries} Retry packets in a case without Retry"));
    }
    closes_with_no_error(trace)?;
    match case {
        Case::Chacha20 => {
            let suites: HashSet<_> = trace.conns.iter().map(|c| c.suite).collect();
            if suites != HashSet::from([Some(CipherSuite::ChaCha20Poly1305Sha256)]) {
                return Err(format!(
                    "cipher suites {suites:?}, expected ChaCha20-Poly1305"
                ));
            }
            facts.push("TLS_CHACHA20_POLY1305_SHA256".into());
        }
        Case::Multiplexing => {
            let raised = trace
                .packets
                .iter()
                .filter(|p| p.dir == Direction::ToClient)
                .flat_map(|p| &p.frames)
                .filter_map(|f| match f {
                    Seen::MaxStreamsBidi(n) => Some(*n),
                    _ => None,
                })
                .max();
            match raised {
                Some(n) => facts.push(format!("the server raised its stream limit to {n}")),
                None => return Err("the server never sent MAX_STREAMS".into()),
            }
        }
        Case::Retry => facts.push(retry(trace)?),
        Case::Resumption | Case::ZeroRtt => {
            let (first, second) = (handshakes[0], handshakes[1]);
            let certs = |c: usize| {
                trace.conns[c]
                    .server_handshake_messages()
                    .contains(&TLS_CERTIFICATE)
            };
            if !certs(first) {
                return Err("the first handshake's Certificate was not seen".into());
            }
            if certs(second) {
                return Err("the second handshake carried a Certificate: no resumption".into());
            }
            facts.push("the second handshake resumed (no Certificate)".into());
            if case == Case::ZeroRtt {
                facts.push(zero_rtt(trace, second)?);
            }
        }
        Case::KeyUpdate => {
            for dir in [Direction::ToServer, Direction::ToClient] {
                let updated = trace
                    .packets
                    .iter()
                    .any(|p| p.dir == dir && p.key_phase == Some(true));
                if !updated {
                    return Err(format!("no key-phase-1 packet {}", towards(dir)));
                }
            }
            facts.push("key phase 1 both ways".into());
        }
        Case::Ecn => facts.push(ecn(records, trace)?),
        Case::AmplificationLimit => facts.push(amplification(records, trace)?),
        Case::Ipv6 => {
            if records
                .iter()
                .any(|r| !r.client.is_ipv6() || !r.server.is_ipv6())
            {
                return Err("a datagram went over IPv4".into());
            }
            facts.push("IPv6 only".into());
        }
        Case::V2 => facts.push(v2(trace)?),
        Case::RebindPort | Case::RebindAddr => facts.push(rebinding(case, records, trace)?),
        Case::ConnectionMigration => facts.push(migration(records, trace, fronts)?),
        _ => {}
    }
    let sealed: Vec<_> = trace
        .packets
        .iter()
        .filter(|p| {
            matches!(
                p.kind,
                Kind::Initial | Kind::ZeroRtt | Kind::Handshake | Kind::OneRtt
            )
        })
        .collect();
    let opened = sealed.iter().filter(|p| p.opened).count();
    facts.push(format!("{opened} of {} packets decrypted", sealed.len()));
    Ok(facts.join("; "))
}

fn towards(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "from the client",
        Direction::ToClient => "from the server",
    }
}

/// The connections that completed a handshake, counted as the runner does: the distinct
/// Source Connection IDs of the server's Initial packets.
fn handshakes(trace: &Trace) -> Vec<usize> {
    let mut seen = HashSet::new();
    let mut conns = Vec::new();
    for p in &trace.packets {
        if p.dir == Direction::ToClient && p.kind == Kind::Initial && seen.insert(p.scid.clone()) {
            if let Some(c) = p.conn {
                conns.push(c);
            }
        }
    }
    conns
}

/// Every CONNECTION_CLOSE carries error 0 (NO_ERROR, or the application's 0). An
/// application's close sent before the handshake is confirmed goes in Initial and
/// Handshake packets too, as APPLICATION_ERROR (RFC 9000 §10.2.3).
fn closes_with_no_error(trace: &Trace) -> Result<(), String> {
    for p in &trace.packets {
        for f in &p.frames {
            if let Seen::Close { application, code } = f {
                let converted = !application
                    && *code == APPLICATION_ERROR
                    && matches!(p.kind, Kind::Initial | Kind::Handshake);
                if *code != 0 && !converted {
                    let kind = if *application {
                        "application"
                    } else {
                        "transport"
                    };
                    return Err(format!(
                        "closed {} with {kind} error {code:#x}",
                        towards(p.dir)
                    ));
                }
            }
        }
    }
    Ok(())
}

fn retry(trace: &Trace) -> Result<String, String> {
    let at = trace
        .packets
        .iter()
        .position(|p| p.kind == Kind::Retry && p.dir == Direction::ToClient)
        .ok_or("the server sent no Retry")?;
    let token = &trace.packets[at].token;
    let echoed = trace.packets[at..]
        .iter()
        .any(|p| p.dir == Direction::ToServer && p.kind == Kind::Initial && &p.token == token);
    if !echoed {
        return Err("the client's Initial after the Retry does not carry its token".into());
    }
    Ok(format!("Retry with a {}-byte token, echoed", token.len()))
}

fn stream_bytes<'a>(packets: impl Iterator<Item = &'a Packet>) -> usize {
    packets
        .flat_map(|p| &p.frames)
        .map(|f| match f {
            Seen::Stream { len, .. } => *len,
            _ => 0,
        })
        .sum()
}

fn zero_rtt(trace: &Trace, conn: usize) -> Result<String, String> {
    let client = || trace.of(conn).filter(|p| p.dir == Direction::ToServer);
    let zero: Vec<_> = client().filter(|p| p.kind == Kind::ZeroRtt).collect();
    if zero.is_empty() {
        return Err("the second connection sent no 0-RTT packet".into());
    }
    if zero.iter().any(|p| !p.opened) {
        return Err("a 0-RTT packet did not decrypt with the key log".into());
    }
    let early = stream_bytes(zero.iter().copied());
    let late = stream_bytes(client().filter(|p| p.kind == Kind::OneRtt));
    if early <= late {
        return Err(format!(
            "the client sent {early} stream bytes in 0-RTT and {late} in 1-RTT"
        ));
    }
    Ok(format!(
        "{} 0-RTT packets with {early} stream bytes, {late} in 1-RTT",
        zero.len()
    ))
}

fn ecn(records: &[Record], trace: &Trace) -> Result<String, String> {
    let mut out = Vec::new();
    for dir in [Direction::ToServer, Direction::ToClient] {
        let sent: Vec<_> = records.iter().filter(|r| r.dir == dir).collect();
        let marked = sent.iter().filter(|r| r.ecn.is_some()).count();
        if marked == 0 {
            return Err(format!("no ECT-marked datagram {}", towards(dir)));
        }
        let ack_ecn = trace
            .packets
            .iter()
            .filter(|p| p.dir == dir)
            .flat_map(|p| &p.frames)
            .filter(|f| matches!(f, Seen::Ack { ecn: Some(c) } if c.iter().sum::<u64>() > 0))
            .count();
        if ack_ecn == 0 {
            return Err(format!("no ACK_ECN with counts {}", towards(dir)));
        }
        out.push(format!(
            "{marked} of {} marked and {ack_ecn} ACK_ECN {}",
            sent.len(),
            towards(dir)
        ));
    }
    Ok(out.join(", "))
}

/// The server sends at most three times what it received until the client's first
/// Handshake packet reaches it (RFC 9000 §8.1), and its Handshake flight is the long
/// chain's.
fn amplification(records: &[Record], trace: &Trace) -> Result<String, String> {
    let delay = super::Case::AmplificationLimit
        .conditions(super::Scale::Quick)
        .delay;
    // When each client datagram can have reached the server, at the earliest.
    let arrives = |r: &Record| r.at + delay;
    let validated = trace
        .packets
        .iter()
        .filter(|p| p.dir == Direction::ToServer && p.kind == Kind::Handshake)
        .filter(|p| records[p.record].fate.arrived())
        .map(|p| arrives(&records[p.record]))
        .min()
        .unwrap_or(Duration::MAX);
    let mut sent = 0usize;
    for r in records
        .iter()
        .filter(|r| r.dir == Direction::ToClient && r.at < validated)
    {
        sent += r.data.len();
        let received: usize = records
            .iter()
            .filter(|c| c.dir == Direction::ToServer && c.fate.arrived() && arrives(c) <= r.at)
            .map(|c| c.data.len())
            .sum();
        if sent > 3 * received {
            return Err(format!(
                "the server sent {sent} bytes having received {received} before validating the client"
            ));
        }
    }
    let flight = trace
        .packets
        .iter()
        .filter(|p| p.dir == Direction::ToClient && p.kind == Kind::Handshake)
        .flat_map(|p| &p.frames)
        .filter_map(|f| match f {
            Seen::Crypto { offset, len } => Some(offset + *len as u64),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    if flight < LONG_CHAIN_BYTES {
        return Err(format!(
            "the server's Handshake flight was {flight} bytes, under {LONG_CHAIN_BYTES}"
        ));
    }
    Ok(format!(
        "{sent} bytes before validation, within 3x; a {flight}-byte Handshake flight"
    ))
}

fn v2(trace: &Trace) -> Result<String, String> {
    let first = trace
        .packets
        .iter()
        .find(|p| p.dir == Direction::ToServer && p.kind == Kind::Initial)
        .and_then(|p| p.version);
    if first != Some(Version::V1) {
        return Err(format!("the client started in {first:?}, not v1"));
    }
    let hs: Vec<_> = trace
        .packets
        .iter()
        .filter(|p| p.kind == Kind::Handshake)
        .collect();
    if hs.is_empty() || hs.iter().any(|p| p.version != Some(Version::V2)) {
        return Err("a Handshake packet was not v2".into());
    }
    Ok(format!("v1 Initial, {} Handshake packets all v2", hs.len()))
}

/// The server checks every new path of the client (RFC 9000 §9.3): a PATH_CHALLENGE on
/// it, which the client answers.
fn rebinding(case: Case, records: &[Record], trace: &Trace) -> Result<String, String> {
    // The client's paths as the server saw them, in order of first use by 1-RTT packets.
    let mut paths: Vec<SocketAddr> = Vec::new();
    let mut closing: HashSet<SocketAddr> = HashSet::new();
    for p in trace
        .packets
        .iter()
        .filter(|p| p.dir == Direction::ToServer && p.kind == Kind::OneRtt)
    {
        let back = records[p.record].back;
        if !paths.contains(&back) {
            paths.push(back);
        }
        if p.frames.iter().any(|f| matches!(f, Seen::Close { .. })) {
            closing.insert(back);
        }
    }
    if paths.len() < 2 {
        return Err("the transfer ended before the first rebinding".into());
    }
    if case == Case::RebindAddr {
        let ips: HashSet<_> = paths.iter().map(SocketAddr::ip).collect();
        if ips.len() < 2 {
            return Err("the client's address never changed".into());
        }
    }
    let mut challenged = 0;
    for back in &paths[1..] {
        let on = |dir: Direction, f: &dyn Fn(&Seen) -> bool| {
            trace
                .packets
                .iter()
                .any(|p| p.dir == dir && records[p.record].back == *back && p.frames.iter().any(f))
        };
        let challenge = on(Direction::ToClient, &|f| {
            matches!(f, Seen::PathChallenge(_))
        });
        let response = on(Direction::ToServer, &|f| matches!(f, Seen::PathResponse(_)));
        if !(challenge && response) {
            if closing.contains(back) {
                // The client only closed from there.
                continue;
            }
            return Err(format!(
                "new path {back}: PATH_CHALLENGE {challenge}, PATH_RESPONSE {response}"
            ));
        }
        challenged += 1;
    }
    Ok(format!(
        "{} paths, {challenged} new ones validated",
        paths.len()
    ))
}

/// The client moved to the preferred address with a connection ID it had not used.
fn migration(records: &[Record], trace: &Trace, fronts: &[SocketAddr]) -> Result<String, String> {
    let mut dcids: HashMap<SocketAddr, HashSet<Vec<u8>>> = HashMap::new();
    for p in trace
        .packets
        .iter()
        .filter(|p| p.dir == Direction::ToServer && p.kind == Kind::OneRtt && p.opened)
    {
        dcids
            .entry(records[p.record].front)
            .or_default()
            .insert(p.dcid.clone());
    }
    let old = dcids.get(&fronts[0]).cloned().unwrap_or_default();
    let new = dcids
        .get(&fronts[1])
        .ok_or("the client never sent 1-RTT packets to the preferred address")?;
    if let Some(reused) = new.intersection(&old).next() {
        return Err(format!(
            "the client used connection ID {} on both paths",
            hex::encode(reused)
        ));
    }
    let bytes: usize = records
        .iter()
        .filter(|r| r.front == fronts[1])
        .map(|r| r.data.len())
        .sum();
    Ok(format!(
        "moved to the preferred address with a new connection ID; {bytes} bytes there"
    ))
}
