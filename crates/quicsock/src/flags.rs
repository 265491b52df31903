//! The message flags of `send` and `recv`, with Linux QUIC's values (reference §1.3): the
//! QUIC flags reuse `MSG_*` bits, so a C program's flags mean the same here.

use std::ops::{BitOr, BitOrAssign};

/// Flags of one `send` or `recv`.
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u32);

impl Flags {
    /// No flags.
    pub const NONE: Self = Self(0);
    /// `MSG_QUIC_STREAM_NEW`: open the stream (it must not be open yet) and send on it.
    pub const STREAM_NEW: Self = Self(0x400);
    /// `MSG_QUIC_STREAM_FIN`: on send, the last data of the stream; on recv, the last
    /// piece.
    pub const STREAM_FIN: Self = Self(0x200);
    /// `MSG_QUIC_STREAM_UNI`: with stream id -1, pick the next unidirectional stream.
    pub const STREAM_UNI: Self = Self(0x800);
    /// `MSG_QUIC_STREAM_DONTWAIT`: do not wait for the peer to allow another stream.
    pub const STREAM_DONTWAIT: Self = Self(0x10000);
    /// `MSG_QUIC_DATAGRAM`: an unreliable DATAGRAM frame (RFC 9221).
    pub const DATAGRAM: Self = Self(0x1000);
    /// `MSG_QUIC_NOTIFICATION`: on recv, the payload is an event.
    pub const NOTIFICATION: Self = Self(0x8000);
    /// `MSG_EOR`: on recv, an event or datagram was read whole.
    pub const EOR: Self = Self(0x80);
    /// `MSG_DONTWAIT`: do not block this call.
    pub const DONTWAIT: Self = Self(0x40);
    /// `MSG_PEEK`: on recv, return what the next recv would, and leave it there.
    pub const PEEK: Self = Self(0x2);
    /// `MSG_MORE`: on send, more data follows: hold this stream data (cork) until a send
    /// without it. The bit is `NOTIFICATION`'s on recv.
    pub const MORE: Self = Self(0x8000);
    /// `MSG_QUIC_STREAM_SNDBLOCK`: on send, announce being blocked with STREAMS_BLOCKED,
    /// DATA_BLOCKED or STREAM_DATA_BLOCKED. quicsock always does, so it changes nothing.
    pub const STREAM_SNDBLOCK: Self = Self(0x2000);

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags `send` accepts; others are `InvalidArgument`.
    pub(crate) const SEND_ALLOWED: Self = Self(
        Self::STREAM_NEW.0
            | Self::STREAM_FIN.0
            | Self::STREAM_UNI.0
            | Self::STREAM_DONTWAIT.0
            | Self::DATAGRAM.0
            | Self::DONTWAIT.0
            | Self::MORE.0
            | Self::STREAM_SNDBLOCK.0,
    );
}

impl BitOr for Flags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(Flags, &str); 11] = [
            (Flags::STREAM_NEW, "STREAM_NEW"),
            (Flags::STREAM_FIN, "STREAM_FIN"),
            (Flags::STREAM_UNI, "STREAM_UNI"),
            (Flags::STREAM_DONTWAIT, "STREAM_DONTWAIT"),
            (Flags::DATAGRAM, "DATAGRAM"),
            (Flags::NOTIFICATION, "NOTIFICATION"),
            (Flags::EOR, "EOR"),
            (Flags::DONTWAIT, "DONTWAIT"),
            (Flags::PEEK, "PEEK"),
            (Flags::STREAM_SNDBLOCK, "STREAM_SNDBLOCK"),
            (Flags::NONE, ""),
        ];
        let mut first = true;
        let mut rest = self.0;
        for (flag, name) in NAMES.iter().filter(|(f, _)| f.0 != 0) {
            if self.contains(*flag) {
                write!(f, "{}{name}", if first { "" } else { "|" })?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 || first {
            write!(f, "{}{rest:#x}", if first { "" } else { "|" })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MSG_PEEK in Linux's socket.h.
    const fn libc_msg_peek() -> u32 {
        2
    }

    #[test]
    fn linux_values_and_display() {
        assert_eq!(Flags::STREAM_NEW.0, 0x400);
        assert_eq!(Flags::STREAM_FIN.0, 0x200);
        assert_eq!(Flags::DATAGRAM.0, 0x1000);
        assert_eq!(Flags::NOTIFICATION.0, 0x8000);
        assert_eq!(Flags::PEEK.0, libc_msg_peek());
        assert_eq!(
            format!("{:?}", Flags::STREAM_NEW | Flags::STREAM_FIN),
            "STREAM_NEW|STREAM_FIN"
        );
        assert_eq!(format!("{:?}", Flags(0x10_0000)), "0x100000");
        assert_eq!(format!("{:?}", Flags::NONE), "0x0");
    }
}
