//! `tokio_util` codec (feature `codec`): [`Hj212Codec`] decodes frames with
//! [`StreamDecoder`] and encodes [`Message`]s.
//!
//! The decoder's item is `Result<Packet, Rejected>`: a bad frame is an ordinary item,
//! so the stream keeps going (a `tokio_util` decoder error would end it). The codec's
//! own error type is only for I/O.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::build::Message;
use crate::error::BuildError;
use crate::frame::{Decoded, Options, StreamDecoder};
use crate::packet::Charset;

/// Error of the codec: I/O, or a message that cannot be serialized.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// HJ 212 codec for one connection.
#[derive(Debug, Clone, Default)]
pub struct Hj212Codec {
    decoder: StreamDecoder,
    out_charset: Charset,
}

impl Hj212Codec {
    pub fn new(opts: Options) -> Self {
        Hj212Codec {
            decoder: StreamDecoder::new(opts),
            out_charset: Charset::Utf8,
        }
    }

    /// Charset of outgoing frames (GBK for old loggers).
    pub fn with_output_charset(mut self, charset: Charset) -> Self {
        self.out_charset = charset;
        self
    }

    pub fn decoder(&self) -> &StreamDecoder {
        &self.decoder
    }

    pub fn decoder_mut(&mut self) -> &mut StreamDecoder {
        &mut self.decoder
    }
}

impl Decoder for Hj212Codec {
    type Item = Decoded;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, CodecError> {
        Ok(self.decoder.decode(src))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, CodecError> {
        Ok(self.decoder.decode_eof(src))
    }
}

impl Encoder<&Message> for Hj212Codec {
    type Error = CodecError;

    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode_into(self.out_charset, dst)?;
        Ok(())
    }
}

impl Encoder<Message> for Hj212Codec {
    type Error = CodecError;

    fn encode(&mut self, item: Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode_into(self.out_charset, dst)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_split_and_glued_frames_and_encodes_acks() {
        let f1: &[u8] = b"##0087QN=20160801085857223;ST=91;CN=9013;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&2A80";
        let f2: &[u8] = b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";
        let mut codec = Hj212Codec::default();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&f1[..40]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&f1[40..]);
        buf.extend_from_slice(f2);
        let a = codec.decode(&mut buf).unwrap().unwrap().unwrap();
        let b = codec.decode(&mut buf).unwrap().unwrap().unwrap();
        assert_eq!(a.cn(), Some("9013"));
        assert_eq!(b.cn(), Some("1062"));
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
        let mut out = BytesMut::new();
        codec.encode(b.data_ack(), &mut out).unwrap();
        assert!(out.starts_with(b"##0087QN=20160801085857223;ST=91;CN=9014;"));
    }
}
