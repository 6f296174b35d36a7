//! HJ 212 (2005 / 2017 / 2025) data transmission protocol: a pure codec.
//!
//! * [`parse_frame`] parses one frame; [`StreamDecoder`] frames a byte stream
//!   (several frames per read, split frames, no CR LF between frames, garbage,
//!   wrong length fields) and never loses sync. With the `codec` feature,
//!   [`codec::Hj212Codec`] wraps it as a `tokio_util` codec.
//! * Length and CRC are computed over bytes ([`crc`]); the CRC field is compared
//!   case-insensitively and a CRC-16/MODBUS is diagnosed as such ([`CrcPolicy`]).
//! * [`Packet`] gives the header fields and the CP (groups, [`Item`]s with their
//!   flags) as the exact strings sent; [`Version`] is detected from the Flag.
//! * [`Message`] serializes answers (9011/9012/9013/9014 with the frame's own QN)
//!   and downlink commands ([`Downlink`]); the parser accepts everything it builds.
//! * [`Reassembler`] joins sub-packets (PNUM/PNO); [`codes`] maps pollutant codes
//!   between 2005 and 2017 with names and units.
//!
//! No I/O, no async, no clock: callers pass time in where it is needed.
#![forbid(unsafe_code)]

pub mod build;
pub mod codes;
pub mod crc;
mod error;
mod frame;
mod packet;
pub mod reassembly;
pub mod report;
pub mod validate;

#[cfg(feature = "codec")]
pub mod codec;

/// Re-exported so users need not depend on `bytes` themselves.
pub use bytes;

pub use build::{AckStyle, Downlink, ExeRtn, Message, QnRtn};
pub use error::{BuildError, FrameError, Rejected};
pub use frame::{
    CrcPolicy, Decoded, MAX_DATA_LEN, NOMINAL_MAX_DATA_LEN, Options, Stats, StreamDecoder,
    parse_frame,
};
pub use packet::{Charset, CpEntry, FieldKind, Flag, Item, Packet, Version, Warning};
pub use reassembly::{Assembled, Push, Reassembler};
