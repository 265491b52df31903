//! A client that starts in a version it does not speak, to learn the server's
//! (incompatible version negotiation, RFC 9368 §2.1; Linux QUIC's CONFIG `version` set to
//! an unknown value such as 123).
//!
//! Nothing of the handshake is made before the version is known: the first flight's
//! version_information must name the version it is sent in (RFC 9368 §4), and a TLS
//! library reading the transport parameters would otherwise carry the wrong one in its
//! ClientHello. So the connection first sends probes: a long header of the version
//! asked for, with our connection IDs (the invariants of RFC 8999 §5.1), filled to 1200
//! bytes so that a server answers it (RFC 9000 §14.1, §6.1), up to
//! [`VERSION_PROBES`] times a PTO apart. A Version Negotiation packet that echoes our
//! IDs and does not list the probed version (RFC 9000 §6.2) settles it: the connection
//! takes the first version of ours the server offers, derives that version's Initial
//! keys and starts the handshake. Its server's version_information must then not list
//! the probed version, or the Version Negotiation was forged (RFC 9368 §4,
//! `set_peer_transport_params`). Without an answer, or without a common version, the
//! connection ends with [`ConnectionError::VersionMismatch`].

use super::timer::Timer;
use super::{Connection, ConnectionError, Transmit};
use crate::common::Writer;
use crate::packet::{Version, MIN_INITIAL_DATAGRAM_SIZE};
use crate::time::Timestamp;

/// Probes sent before the client gives up on an answer.
pub const VERSION_PROBES: u8 = 3;

/// A client's probe for the server's versions.
#[derive(Debug)]
pub(crate) struct VersionProbe {
    /// The version probed (the one the application asked for).
    version: Version,
    /// Probes sent so far.
    sent: u8,
    /// A probe is to be sent.
    due: bool,
}

impl Connection {
    /// Starts probing with `version`, which this crate does not speak: the handshake waits.
    pub(crate) fn start_version_probe(&mut self, now: Timestamp, version: Version) {
        self.version_probe = Some(VersionProbe {
            version,
            sent: 0,
            due: true,
        });
        self.timers
            .set(Timer::VersionProbe, now + self.pto_period());
    }

    /// Whether the connection still waits for the server's versions (its handshake has
    /// not started; its transport parameters are not final).
    pub fn is_probing_version(&self) -> bool {
        self.version_probe.is_some()
    }

    /// The version an incompatible version negotiation started from, once it settled.
    pub fn probed_version(&self) -> Option<Version> {
        self.probed_version
    }

    /// The probe, when one is due.
    pub(crate) fn transmit_version_probe(&mut self, buf: &mut Writer<'_>) -> Option<Transmit> {
        let probe = self.version_probe.as_mut().filter(|p| p.due)?;
        if buf.capacity() < MIN_INITIAL_DATAGRAM_SIZE {
            return None;
        }
        probe.due = false;
        probe.sent += 1;
        let version = probe.version;
        let dcid = self.original_dcid;
        let scid = self.local_cid();
        // Long header form and the fixed bit, the type bits of a v1 Initial.
        buf.put_u8(0xc0);
        buf.put_u32(version.0);
        buf.put_u8(dcid.len() as u8);
        buf.put_slice(&dcid);
        buf.put_u8(scid.len() as u8);
        buf.put_slice(&scid);
        buf.zero_to(MIN_INITIAL_DATAGRAM_SIZE);
        Some(Transmit {
            destination: self.path.remote,
            size: buf.len(),
            ecn: None,
        })
    }

    /// A Version Negotiation packet for a probing client: `scid` is the ID it names as
    /// its source (ours was its destination), `offered` its versions. Returns false when
    /// the connection is not probing.
    pub(crate) fn on_probe_answer(
        &mut self,
        now: Timestamp,
        scid: &[u8],
        offered: Vec<Version>,
    ) -> bool {
        let Some(probe) = &self.version_probe else {
            return false;
        };
        // RFC 9000 §6.2, §17.2.1: one that lists the version probed, or does not echo the
        // ID we sent to, is discarded.
        if offered.contains(&probe.version) || scid != &self.original_dcid[..] {
            return true;
        }
        let ours = self
            .local_params
            .version_information
            .as_ref()
            .map(|i| i.available.clone())
            .unwrap_or_else(|| Version::SUPPORTED.to_vec());
        let Some(&version) = ours
            .iter()
            .find(|v| v.is_supported() && offered.contains(v))
        else {
            self.drain_now(ConnectionError::VersionMismatch(offered));
            return true;
        };
        let probed = probe.version;
        self.version_probe = None;
        self.timers.stop(Timer::VersionProbe);
        if self.switch_version(version).is_err() {
            self.drain_now(ConnectionError::VersionMismatch(offered));
            return true;
        }
        self.original_version = version;
        self.probed_version = Some(probed);
        self.events.push_back(super::Event::VersionNegotiated);
        self.run_driver(now);
        true
    }

    /// The probe's timer fired: probe again, or give up.
    pub(crate) fn on_version_probe_timeout(&mut self, now: Timestamp) {
        let pto = self.pto_period();
        let Some(p) = self.version_probe.as_mut() else {
            return;
        };
        if p.sent < VERSION_PROBES {
            p.due = true;
            self.timers.set(Timer::VersionProbe, now + pto);
            return;
        }
        self.version_probe = None;
        self.drain_now(ConnectionError::VersionMismatch(Vec::new()));
    }
}
