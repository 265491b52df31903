//! A one-line readable form of each frame, for logs and for quic-inspect.

use std::fmt;

use super::{CloseReason, Frame};

/// Shows at most this many bytes of a frame's payload, in hex.
const SHOWN: usize = 16;

struct Bytes<'a>(&'a [u8]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().take(SHOWN) {
            write!(f, "{b:02x}")?;
        }
        if self.0.len() > SHOWN {
            write!(f, "…")?;
        }
        Ok(())
    }
}

impl fmt::Display for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.ty())?;
        match self {
            Self::Padding { len } => write!(f, " ×{len}"),
            Self::Ping | Self::HandshakeDone | Self::ImmediateAck => Ok(()),
            Self::AckFrequency(a) => write!(
                f,
                " seq={} threshold={} max_ack_delay={}us reordering={}",
                a.sequence,
                a.ack_eliciting_threshold,
                a.request_max_ack_delay,
                a.reordering_threshold
            ),
            Self::Ack(ack) => {
                write!(f, " delay={} ranges=", ack.delay)?;
                for (i, range) in ack.ranges().take(8).enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    if range.start() == range.end() {
                        write!(f, "{sep}{}", range.start())?;
                    } else {
                        write!(f, "{sep}{}-{}", range.start(), range.end())?;
                    }
                }
                if ack.range_count() > 8 {
                    write!(f, ",… ({} ranges)", ack.range_count())?;
                }
                if let Some(ecn) = &ack.ecn {
                    write!(f, " ect0={} ect1={} ce={}", ecn.ect0, ecn.ect1, ecn.ce)?;
                }
                Ok(())
            }
            Self::ResetStream(r) => write!(
                f,
                " stream={} error={} final_size={}",
                r.id, r.error_code, r.final_size
            ),
            Self::StopSending(s) => write!(f, " stream={} error={}", s.id, s.error_code),
            Self::Crypto(c) => write!(f, " offset={} len={}", c.offset, c.data.len()),
            Self::NewToken { token } => write!(f, " len={} token={}", token.len(), Bytes(token)),
            Self::Stream(s) => {
                write!(
                    f,
                    " stream={} offset={} len={}",
                    s.id,
                    s.offset,
                    s.data.len()
                )?;
                if s.fin {
                    f.write_str(" fin")?;
                }
                Ok(())
            }
            Self::MaxData(v) | Self::DataBlocked(v) => write!(f, " {v}"),
            Self::MaxStreamData { id, max: v } | Self::StreamDataBlocked { id, limit: v } => {
                write!(f, " stream={id} {v}")
            }
            Self::MaxStreams { dir, count: v } | Self::StreamsBlocked { dir, limit: v } => {
                write!(f, " {dir:?} {v}")
            }
            Self::NewConnectionId(n) => write!(
                f,
                " seq={} retire_prior_to={} cid={} reset_token={}",
                n.sequence,
                n.retire_prior_to,
                n.id,
                Bytes(&n.reset_token)
            ),
            Self::RetireConnectionId { sequence } => write!(f, " seq={sequence}"),
            Self::PathChallenge(data) | Self::PathResponse(data) => write!(f, " {}", Bytes(data)),
            Self::ConnectionClose(c) => {
                match c.reason {
                    CloseReason::Transport { code, frame_type } => write!(
                        f,
                        " transport error={code} frame_type={frame_type:#x}",
                        frame_type = frame_type.into_inner()
                    )?,
                    CloseReason::Application { code } => write!(f, " application error={code}")?,
                }
                write!(f, " reason={:?}", String::from_utf8_lossy(c.phrase))
            }
            Self::Datagram { data, .. } => write!(f, " len={} data={}", data.len(), Bytes(data)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::{Reader, VarInt};
    use crate::frame::encode_ack;

    #[test]
    fn readable_forms() {
        let mut b = Vec::new();
        encode_ack(&mut b, &[10..=12, 5..=5], VarInt::from_u32(3), None).unwrap();
        let frame = Frame::decode(&mut Reader::new(&b)).unwrap();
        assert_eq!(frame.to_string(), "ACK delay=3 ranges=10-12,5");
        let frame = Frame::decode(&mut Reader::new(&[0x0b, 4, 2, 0xaa, 0xbb])).unwrap();
        assert_eq!(frame.to_string(), "STREAM stream=4 offset=0 len=2 fin");
        let frame = Frame::decode(&mut Reader::new(&[0x1c, 0x07, 0x06, 2, b'h', b'i'])).unwrap();
        assert_eq!(
            frame.to_string(),
            "CONNECTION_CLOSE transport error=FRAME_ENCODING_ERROR frame_type=0x6 reason=\"hi\""
        );
    }
}
