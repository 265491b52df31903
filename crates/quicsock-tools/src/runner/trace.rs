//! The runner's decrypting packet log: what the interop runner gets from tshark with the
//! key log, here from the relay's record and quicsock-proto's packet code.
//!
//! Every datagram is split into its packets (RFC 9000 §12.2) and each packet is assigned to
//! a connection by its connection IDs and opened: Initials with the keys anyone derives from
//! the client's Destination Connection ID (RFC 9001 §5.2), 0-RTT, Handshake and 1-RTT
//! packets with the secrets of an NSS key log (`SSLKEYLOGFILE`), found by the ClientHello's
//! random, under the cipher suite the ServerHello chose. 1-RTT keys follow key updates
//! (RFC 9001 §6) by the Key Phase bit. A packet whose keys are not known stays sealed: its
//! header facts are still there.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use quicsock_proto::common::Side;
use quicsock_proto::crypto::{
    initial_keys, open, remove_header_protection, unprotect, CipherSuite, DirectionalKeys,
    HeaderKey, PacketKey, Secret,
};
use quicsock_proto::frame::{CloseReason, Frame, Frames};
use quicsock_proto::packet::{Header, PacketNumber, PacketType, ParsedPacket, Version};

use super::net::{Direction, Record};

/// The length of a TLS random.
const RANDOM_LEN: usize = 32;

/// The secrets of an NSS key log, by client random and label.
#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    secrets: HashMap<[u8; RANDOM_LEN], HashMap<String, Vec<u8>>>,
}

impl KeyLog {
    /// Adds the lines of a key log file (`LABEL <client random> <secret>`, hex); comments
    /// and malformed lines are skipped.
    pub fn add(&mut self, text: &str) {
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let (Some(label), Some(random), Some(secret)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let (Ok(random), Ok(secret)) = (hex::decode(random), hex::decode(secret)) else {
                continue;
            };
            let Ok(random) = <[u8; RANDOM_LEN]>::try_from(random) else {
                continue;
            };
            self.secrets
                .entry(random)
                .or_default()
                .insert(label.to_owned(), secret);
        }
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    fn get(&self, random: &[u8; RANDOM_LEN], label: &str) -> Option<&[u8]> {
        self.secrets.get(random)?.get(label).map(Vec::as_slice)
    }
}

/// The type of a packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Initial.
    Initial,
    /// 0-RTT.
    ZeroRtt,
    /// Handshake.
    Handshake,
    /// 1-RTT (short header).
    OneRtt,
    /// Retry.
    Retry,
    /// Version Negotiation.
    VersionNegotiation,
    /// A long header of a version the decoder does not know, or an unparseable packet.
    Other,
}

/// A frame as the checks need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// ACK, with the ECN counts (ECT(0), ECT(1), CE) of an ACK_ECN frame.
    Ack {
        /// The ECN counts, if the frame carried them.
        ecn: Option<[u64; 3]>,
    },
    /// CRYPTO.
    Crypto {
        /// The offset of the data in the level's crypto stream.
        offset: u64,
        /// How many bytes.
        len: usize,
    },
    /// STREAM.
    Stream {
        /// The stream.
        id: u64,
        /// How many bytes.
        len: usize,
    },
    /// PATH_CHALLENGE with its data.
    PathChallenge([u8; 8]),
    /// PATH_RESPONSE with its data.
    PathResponse([u8; 8]),
    /// CONNECTION_CLOSE.
    Close {
        /// Whether it is the application's close (type 0x1d).
        application: bool,
        /// The error code.
        code: u64,
    },
    /// NEW_CONNECTION_ID with the new ID.
    NewConnectionId(Vec<u8>),
    /// MAX_STREAMS for bidirectional streams, with the new limit.
    MaxStreamsBidi(u64),
    /// Any other frame.
    Other,
}

/// One packet of one datagram.
#[derive(Clone, Debug)]
pub struct Packet {
    /// The index of its datagram in the relay's record.
    pub record: usize,
    /// Which way it went.
    pub dir: Direction,
    /// Its type.
    pub kind: Kind,
    /// The version of a long header.
    pub version: Option<Version>,
    /// The Destination Connection ID.
    pub dcid: Vec<u8>,
    /// The Source Connection ID of a long header.
    pub scid: Vec<u8>,
    /// The token of an Initial or Retry.
    pub token: Vec<u8>,
    /// Its length in the datagram.
    pub len: usize,
    /// The index of its connection in [`Trace::conns`].
    pub conn: Option<usize>,
    /// The Key Phase bit of an opened 1-RTT packet.
    pub key_phase: Option<bool>,
    /// Whether it was opened.
    pub opened: bool,
    /// Its frames, if it was opened.
    pub frames: Vec<Seen>,
}

/// The 1-RTT keys of one direction, following key updates.
struct OneRttKeys {
    version: Version,
    header: HeaderKey,
    secret: Secret,
    key: PacketKey,
    phase: bool,
    previous: Option<PacketKey>,
}

/// One connection, from its client's first Initial.
#[derive(Default)]
pub struct Conn {
    /// The client's Source Connection ID.
    pub client_cid: Vec<u8>,
    /// The client's address.
    pub client: Option<SocketAddr>,
    /// The connection IDs the server issued (long-header SCIDs and NEW_CONNECTION_ID).
    pub server_cids: Vec<Vec<u8>>,
    /// The connection IDs the client issued.
    pub client_cids: Vec<Vec<u8>>,
    /// The cipher suite the ServerHello chose.
    pub suite: Option<CipherSuite>,
    /// The version of the server's Handshake packets.
    pub version: Option<Version>,
    random: Option<[u8; RANDOM_LEN]>,
    /// The DCID of the client's latest Initial (the Initial keys' input).
    initial_dcid: Vec<u8>,
    /// The server's Handshake CRYPTO data, as (offset, bytes).
    server_handshake_crypto: Vec<(u64, Vec<u8>)>,
    /// The largest packet number per direction and space.
    largest: [[Option<PacketNumber>; 3]; 2],
    one_rtt: [Option<OneRttKeys>; 2],
}

impl Conn {
    /// The types of the TLS messages in the server's Handshake packets, in order (11 is
    /// Certificate, RFC 8446 §4), as far as its crypto stream is contiguous.
    pub fn server_handshake_messages(&self) -> Vec<u8> {
        let mut parts: Vec<_> = self.server_handshake_crypto.iter().collect();
        parts.sort_by_key(|(o, _)| *o);
        let mut stream = Vec::new();
        for (offset, data) in parts {
            let offset = *offset as usize;
            if offset > stream.len() {
                break;
            }
            let end = offset + data.len();
            if end > stream.len() {
                stream.extend_from_slice(&data[stream.len() - offset..]);
            }
        }
        let mut types = Vec::new();
        let mut at = 0;
        while at + 4 <= stream.len() {
            types.push(stream[at]);
            let len = usize::from(stream[at + 1]) << 16
                | usize::from(stream[at + 2]) << 8
                | usize::from(stream[at + 3]);
            at += 4 + len;
        }
        types
    }
}

/// The decoded record.
#[derive(Default)]
pub struct Trace {
    /// Every packet, in the order of the datagrams.
    pub packets: Vec<Packet>,
    /// Every connection, in the order of their first Initial.
    pub conns: Vec<Conn>,
}

impl Trace {
    /// Decodes the relay's record with the secrets of `keys`.
    pub fn decode(records: &[Record], keys: &KeyLog) -> Self {
        let mut trace = Self::default();
        for (index, r) in records.iter().enumerate() {
            let mut at = 0;
            while at < r.data.len() {
                let rest = &r.data[at..];
                let len = if rest[0] & 0x80 != 0 {
                    trace.long(index, r, rest, keys)
                } else {
                    trace.short(index, r, rest, keys);
                    rest.len()
                };
                at += len.max(1);
            }
        }
        trace
    }

    /// A readable log: one line per datagram (time, direction, size, ECN, fate) with its
    /// packets and their frames.
    pub fn log(&self, records: &[Record]) -> String {
        let mut out = String::new();
        let mut packets = self.packets.iter().peekable();
        for (i, r) in records.iter().enumerate() {
            let _ = write!(
                out,
                "{:>10.3} ms {:?} {} bytes ecn={:?} {:?} back={}:",
                r.at.as_secs_f64() * 1e3,
                r.dir,
                r.data.len(),
                r.ecn,
                r.fate,
                r.back
            );
            while let Some(p) = packets.next_if(|p| p.record == i) {
                let _ = write!(out, " [{:?}", p.kind);
                if let Some(v) = p.version {
                    let _ = write!(out, " {v}");
                }
                let _ = write!(out, " dcid={}", hex::encode(&p.dcid));
                if let Some(k) = p.key_phase {
                    let _ = write!(out, " key_phase={}", u8::from(k));
                }
                if p.opened {
                    let _ = write!(out, " {:?}]", p.frames);
                } else {
                    let _ = write!(out, " sealed]");
                }
            }
            out.push('\n');
        }
        out
    }

    /// The packets of connection `conn`.
    pub fn of(&self, conn: usize) -> impl Iterator<Item = &Packet> {
        self.packets.iter().filter(move |p| p.conn == Some(conn))
    }

    fn find_conn(&self, client_cid: &[u8], client: SocketAddr) -> Option<usize> {
        self.conns.iter().rposition(|c| {
            c.client_cid == client_cid && (!client_cid.is_empty() || c.client == Some(client))
        })
    }

    /// Decodes the long-header packet at the start of `data`; returns its length.
    fn long(&mut self, record: usize, r: &Record, data: &[u8], keys: &KeyLog) -> usize {
        let Ok(parsed) = ParsedPacket::parse(data, 0) else {
            self.packets
                .push(packet(record, r.dir, Kind::Other, data.len()));
            return data.len();
        };
        let len = parsed.len.max(1);
        let mut p = packet(record, r.dir, Kind::Other, len);
        let (ty, h) = match &parsed.header {
            Header::Initial(h) => (PacketType::Initial, h),
            Header::ZeroRtt(h) => (PacketType::ZeroRtt, h),
            Header::Handshake(h) => (PacketType::Handshake, h),
            Header::Retry(h) => {
                p.kind = Kind::Retry;
                p.version = Some(h.version);
                p.dcid = h.dcid.to_vec();
                p.scid = h.scid.to_vec();
                p.token = h.token.to_vec();
                p.conn = self.find_conn(&p.dcid, r.client);
                if let Some(c) = p.conn {
                    // The client's next Initials go to the Retry's SCID.
                    self.conns[c].initial_dcid = p.scid.clone();
                }
                self.packets.push(p);
                return len;
            }
            Header::VersionNegotiation(vn) => {
                p.kind = Kind::VersionNegotiation;
                p.dcid = vn.dcid.to_vec();
                p.conn = self.find_conn(&p.dcid, r.client);
                self.packets.push(p);
                return len;
            }
            Header::Unsupported(u) => {
                p.version = Some(u.version);
                self.packets.push(p);
                return len;
            }
            Header::Short(_) => return len,
        };
        p.kind = match ty {
            PacketType::Initial => Kind::Initial,
            PacketType::ZeroRtt => Kind::ZeroRtt,
            _ => Kind::Handshake,
        };
        p.version = Some(h.version);
        p.dcid = h.dcid.to_vec();
        p.scid = h.scid.to_vec();
        p.token = h.token.to_vec();
        let client_cid = match r.dir {
            Direction::ToServer => &p.scid,
            Direction::ToClient => &p.dcid,
        };
        let conn = match self.find_conn(client_cid, r.client) {
            Some(c) => c,
            None if r.dir == Direction::ToServer && ty != PacketType::Handshake => {
                self.conns.push(Conn {
                    client_cid: client_cid.clone(),
                    client: Some(r.client),
                    ..Conn::default()
                });
                self.conns.len() - 1
            }
            None => {
                self.packets.push(p);
                return len;
            }
        };
        p.conn = Some(conn);
        let c = &mut self.conns[conn];
        match (r.dir, ty) {
            // Initial keys come from the DCID of the client's first Initial, or of its
            // first after a Retry (RFC 9001 §5.2); later ones go to the server's SCID.
            (Direction::ToServer, PacketType::Initial) if c.server_cids.is_empty() => {
                c.initial_dcid = p.dcid.clone();
            }
            (Direction::ToClient, _) => {
                if !c.server_cids.contains(&p.scid) {
                    c.server_cids.push(p.scid.clone());
                }
                if ty == PacketType::Handshake {
                    c.version = Some(h.version);
                }
            }
            _ => {}
        }
        let Some(pn_offset) = parsed.pn_offset else {
            self.packets.push(p);
            return len;
        };
        let sender = if r.dir == Direction::ToServer {
            Side::Client
        } else {
            Side::Server
        };
        let candidates: Vec<DirectionalKeys> = match ty {
            PacketType::Initial => initial_keys(h.version, &c.initial_dcid, sender)
                .map(|k| vec![k.local])
                .unwrap_or_default(),
            PacketType::ZeroRtt => level_keys(c, keys, "CLIENT_EARLY_TRAFFIC_SECRET", h.version),
            _ => {
                let label = match sender {
                    Side::Client => "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                    Side::Server => "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                };
                level_keys(c, keys, label, h.version)
            }
        };
        let space = ty.space() as usize;
        let dir = r.dir.index();
        for k in &candidates {
            let mut buf = data[..len].to_vec();
            if let Ok(u) = unprotect(
                &mut buf,
                pn_offset,
                c.largest[dir][space],
                &k.header,
                &k.packet,
            ) {
                c.largest[dir][space] = c.largest[dir][space].max(Some(u.pn));
                p.opened = true;
                let payload = u.payload.to_vec();
                self.frames(&mut p, conn, ty, &payload);
                break;
            }
        }
        self.packets.push(p);
        len
    }

    /// Decodes a 1-RTT packet (the rest of its datagram).
    fn short(&mut self, record: usize, r: &Record, data: &[u8], keys: &KeyLog) {
        let mut p = packet(record, r.dir, Kind::OneRtt, data.len());
        let dir = r.dir.index();
        // Connections whose issued IDs prefix the packet come first, then every
        // connection with 1-RTT secrets, newest first (IDs from an encrypted
        // preferred_address parameter are learnt by opening the packet).
        let issued = |c: &Conn| match r.dir {
            Direction::ToServer => c.server_cids.clone(),
            Direction::ToClient => c
                .client_cids
                .iter()
                .chain([&c.client_cid])
                .cloned()
                .collect(),
        };
        let mut order: Vec<usize> = (0..self.conns.len()).rev().collect();
        order.sort_by_key(|&i| {
            let c = &self.conns[i];
            let known = issued(c)
                .iter()
                .any(|id| data.get(1..1 + id.len()) == Some(id));
            (!known, c.client != Some(r.client))
        });
        for conn in order {
            let id_len = issued(&self.conns[conn]).first().map_or(0, Vec::len);
            if data.len() < 1 + id_len {
                continue;
            }
            ensure_one_rtt(&mut self.conns[conn], keys);
            let c = &mut self.conns[conn];
            let Some(k) = c.one_rtt[dir].as_mut() else {
                continue;
            };
            let Some((phase, payload, pn)) = open_one_rtt(k, data, 1 + id_len, c.largest[dir][2])
            else {
                continue;
            };
            c.largest[dir][2] = c.largest[dir][2].max(Some(pn));
            p.dcid = data[1..1 + id_len].to_vec();
            let ids = match r.dir {
                Direction::ToServer => &mut c.server_cids,
                Direction::ToClient => &mut c.client_cids,
            };
            if !ids.contains(&p.dcid) {
                ids.push(p.dcid.clone());
            }
            p.conn = Some(conn);
            p.key_phase = Some(phase);
            p.opened = true;
            self.frames(&mut p, conn, PacketType::OneRtt, &payload);
            break;
        }
        self.packets.push(p);
    }

    fn frames(&mut self, p: &mut Packet, conn: usize, ty: PacketType, payload: &[u8]) {
        let c = &mut self.conns[conn];
        for f in Frames::new(payload, ty) {
            let Ok(f) = f else { break };
            p.frames.push(match f {
                Frame::Ack(a) => Seen::Ack {
                    ecn: a
                        .ecn
                        .map(|e| [e.ect0.into_inner(), e.ect1.into_inner(), e.ce.into_inner()]),
                },
                Frame::Crypto(cr) => {
                    let offset = cr.offset.into_inner();
                    match (p.dir, ty) {
                        // ClientHello: type, length (3), legacy_version (2), random.
                        (Direction::ToServer, PacketType::Initial)
                            if offset == 0 && cr.data.first() == Some(&1) =>
                        {
                            c.random = cr
                                .data
                                .get(6..6 + RANDOM_LEN)
                                .and_then(|r| r.try_into().ok());
                        }
                        (Direction::ToClient, PacketType::Initial) if offset == 0 => {
                            c.suite = server_hello_suite(cr.data).or(c.suite);
                        }
                        (Direction::ToClient, PacketType::Handshake) => {
                            c.server_handshake_crypto.push((offset, cr.data.to_vec()));
                        }
                        _ => {}
                    }
                    Seen::Crypto {
                        offset,
                        len: cr.data.len(),
                    }
                }
                Frame::Stream(s) => Seen::Stream {
                    id: s.id.into_inner(),
                    len: s.data.len(),
                },
                Frame::PathChallenge(d) => Seen::PathChallenge(d),
                Frame::PathResponse(d) => Seen::PathResponse(d),
                Frame::ConnectionClose(cc) => match cc.reason {
                    CloseReason::Transport { code, .. } => Seen::Close {
                        application: false,
                        code: code.0,
                    },
                    CloseReason::Application { code } => Seen::Close {
                        application: true,
                        code: code.into_inner(),
                    },
                },
                Frame::NewConnectionId(n) => {
                    let id = n.id.to_vec();
                    let ids = match p.dir {
                        Direction::ToClient => &mut c.server_cids,
                        Direction::ToServer => &mut c.client_cids,
                    };
                    if !ids.contains(&id) {
                        ids.push(id.clone());
                    }
                    Seen::NewConnectionId(id)
                }
                Frame::MaxStreams {
                    dir: quicsock_proto::Dir::Bi,
                    count,
                } => Seen::MaxStreamsBidi(count.into_inner()),
                _ => Seen::Other,
            });
        }
    }
}

fn packet(record: usize, dir: Direction, kind: Kind, len: usize) -> Packet {
    Packet {
        record,
        dir,
        kind,
        version: None,
        dcid: Vec::new(),
        scid: Vec::new(),
        token: Vec::new(),
        len,
        conn: None,
        key_phase: None,
        opened: false,
        frames: Vec::new(),
    }
}

/// The cipher suite of a ServerHello (RFC 8446 §4.1.3).
fn server_hello_suite(m: &[u8]) -> Option<CipherSuite> {
    if m.first() != Some(&2) {
        return None;
    }
    let sid_len = usize::from(*m.get(38)?);
    let at = 39 + sid_len;
    match m.get(at..at + 2)? {
        [0x13, 0x01] => Some(CipherSuite::Aes128GcmSha256),
        [0x13, 0x02] => Some(CipherSuite::Aes256GcmSha384),
        [0x13, 0x03] => Some(CipherSuite::ChaCha20Poly1305Sha256),
        _ => None,
    }
}

/// The suites a secret of this length may be for, the chosen one first.
fn suites(chosen: Option<CipherSuite>, secret_len: usize) -> Vec<CipherSuite> {
    let mut all: Vec<_> = CipherSuite::ALL
        .into_iter()
        .filter(|s| Secret::new(*s, &vec![0; secret_len]).is_ok())
        .collect();
    all.sort_by_key(|s| Some(*s) != chosen);
    all
}

/// The candidate keys of one Handshake or 0-RTT level.
fn level_keys(c: &Conn, keys: &KeyLog, label: &str, version: Version) -> Vec<DirectionalKeys> {
    let Some(secret) = c.random.as_ref().and_then(|r| keys.get(r, label)) else {
        return Vec::new();
    };
    suites(c.suite, secret.len())
        .into_iter()
        .filter_map(|s| Secret::new(s, secret).ok()?.keys(version).ok())
        .collect()
}

/// Derives the 1-RTT keys of both directions once their secrets and suite are known.
fn ensure_one_rtt(c: &mut Conn, keys: &KeyLog) {
    let version = c.version.unwrap_or(Version::V1);
    for (dir, label) in [
        (0, "CLIENT_TRAFFIC_SECRET_0"),
        (1, "SERVER_TRAFFIC_SECRET_0"),
    ] {
        if c.one_rtt[dir].is_some() {
            continue;
        }
        let (Some(random), Some(suite)) = (c.random, c.suite) else {
            return;
        };
        let Some(bytes) = keys.get(&random, label) else {
            continue;
        };
        let Ok(secret) = Secret::new(suite, bytes) else {
            continue;
        };
        let (Ok(header), Ok(key)) = (secret.header_key(version), secret.packet_key(version)) else {
            continue;
        };
        c.one_rtt[dir] = Some(OneRttKeys {
            version,
            header,
            secret,
            key,
            phase: false,
            previous: None,
        });
    }
}

/// Opens a 1-RTT packet whose packet number starts at `pn_offset`: with the current keys,
/// the next generation's when the Key Phase bit flipped (then they become current), or the
/// previous generation's for a packet sent before the update.
fn open_one_rtt(
    k: &mut OneRttKeys,
    data: &[u8],
    pn_offset: usize,
    largest: Option<PacketNumber>,
) -> Option<(bool, Vec<u8>, PacketNumber)> {
    let mut buf = data.to_vec();
    let truncated = remove_header_protection(&mut buf, pn_offset, &k.header).ok()?;
    let phase = buf[0] & 0x04 != 0;
    let pn = PacketNumber::expand(truncated.value(), truncated.len(), largest);
    let header_len = pn_offset + truncated.len();
    let try_open = |key: &PacketKey| {
        let mut b = buf.clone();
        open(&mut b, header_len, pn, key).ok().map(|p| p.to_vec())
    };
    if phase == k.phase {
        if let Some(p) = try_open(&k.key) {
            return Some((phase, p, pn));
        }
        let p = try_open(k.previous.as_ref()?)?;
        return Some((phase, p, pn));
    }
    let next = k.secret.next(k.version).ok()?;
    let key = next.packet_key(k.version).ok()?;
    if let Some(p) = try_open(&key) {
        k.previous = Some(std::mem::replace(&mut k.key, key));
        k.secret = next;
        k.phase = phase;
        return Some((phase, p, pn));
    }
    let p = try_open(k.previous.as_ref()?)?;
    Some((phase, p, pn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::net::Fate;

    fn record(dir: Direction, data: Vec<u8>) -> Record {
        let addr: SocketAddr = "127.0.0.1:4433".parse().unwrap();
        Record {
            at: std::time::Duration::ZERO,
            dir,
            client: addr,
            front: addr,
            back: addr,
            server: addr,
            ecn: None,
            data,
            fate: Fate::Delivered,
        }
    }

    /// RFC 9001 §A.2's client Initial: a connection from its SCID, opened with the keys of
    /// its DCID, its ClientHello's random taken for the key log, its padding counted.
    #[test]
    fn rfc9001_client_initial_opens_and_names_its_connection() {
        let hex: String = crate::inspect::RFC9001_CLIENT_INITIAL
            .split_whitespace()
            .collect();
        let datagram = hex::decode(hex).unwrap();
        let trace = Trace::decode(&[record(Direction::ToServer, datagram)], &KeyLog::default());
        assert_eq!(trace.conns.len(), 1);
        assert_eq!(trace.packets.len(), 1);
        let p = &trace.packets[0];
        assert!(p.opened);
        assert_eq!(p.kind, Kind::Initial);
        assert_eq!(hex::encode(&p.dcid), "8394c8f03e515708");
        assert_eq!(p.conn, Some(0));
        assert!(matches!(
            p.frames[0],
            Seen::Crypto {
                offset: 0,
                len: 241
            }
        ));
        // The ClientHello of §A.2 has this random (bytes 6..38 of the message).
        let random = trace.conns[0].random.unwrap();
        assert_eq!(hex::encode(&random[..4]), "ebf8fa56");
    }

    #[test]
    fn key_logs_parse_by_client_random_and_skip_the_rest() {
        let random = "ab".repeat(32);
        let mut k = KeyLog::default();
        assert!(k.is_empty());
        k.add(&format!(
            "# comment\nCLIENT_TRAFFIC_SECRET_0 {random} 0102\nBROKEN zz 00\nSHORT abcd 00\n"
        ));
        assert!(!k.is_empty());
        let r = [0xab; RANDOM_LEN];
        assert_eq!(k.get(&r, "CLIENT_TRAFFIC_SECRET_0"), Some(&[1u8, 2][..]));
        assert_eq!(k.get(&r, "SERVER_TRAFFIC_SECRET_0"), None);
    }
}
