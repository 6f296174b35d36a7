//! Serializer: answers to received packets and downlink commands.
//!
//! Every answer mirrors the received frame's QN, PW and MN byte for byte and never
//! sets the A bit (no ack loops). Length and CRC are computed over the bytes that are
//! actually sent. Values are checked so that what is built always parses back.

use bytes::{BufMut, BytesMut};

use crate::crc;
use crate::error::BuildError;
use crate::packet::{Charset, Flag, Packet, Version};

/// An outgoing packet (header + CP), framed by [`Message::encode`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub qn: Option<String>,
    pub st: String,
    pub cn: String,
    pub pw: String,
    pub mn: String,
    /// `None` omits the Flag (2005 style).
    pub flag: Option<Flag>,
    /// (PNUM, PNO) for sub-packets.
    pub packet_no: Option<(u16, u16)>,
    /// CP groups (`;`-separated), each a list of `key=value` (`,`-separated).
    pub cp: Vec<Vec<(String, String)>>,
}

/// QnRtn codes (answer 9011 to a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QnRtn {
    Ready,
    Rejected,
    PwError,
    MnError,
    StError,
    FlagError,
    QnError,
    CnError,
    CrcError,
    Unknown,
}

impl QnRtn {
    pub fn code(self) -> u16 {
        match self {
            QnRtn::Ready => 1,
            QnRtn::Rejected => 2,
            QnRtn::PwError => 3,
            QnRtn::MnError => 4,
            QnRtn::StError => 5,
            QnRtn::FlagError => 6,
            QnRtn::QnError => 7,
            QnRtn::CnError => 8,
            QnRtn::CrcError => 9,
            QnRtn::Unknown => 100,
        }
    }
    pub fn from_code(code: u16) -> Option<QnRtn> {
        [
            QnRtn::Ready,
            QnRtn::Rejected,
            QnRtn::PwError,
            QnRtn::MnError,
            QnRtn::StError,
            QnRtn::FlagError,
            QnRtn::QnError,
            QnRtn::CnError,
            QnRtn::CrcError,
            QnRtn::Unknown,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

/// ExeRtn codes (execution result 9012).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExeRtn {
    Success,
    Failed,
    ConditionError,
    Timeout,
    Busy,
    Fault,
    NoData,
}

impl ExeRtn {
    pub fn code(self) -> u16 {
        match self {
            ExeRtn::Success => 1,
            ExeRtn::Failed => 2,
            ExeRtn::ConditionError => 3,
            ExeRtn::Timeout => 4,
            ExeRtn::Busy => 5,
            ExeRtn::Fault => 6,
            ExeRtn::NoData => 100,
        }
    }
    pub fn from_code(code: u16) -> Option<ExeRtn> {
        [
            ExeRtn::Success,
            ExeRtn::Failed,
            ExeRtn::ConditionError,
            ExeRtn::Timeout,
            ExeRtn::Busy,
            ExeRtn::Fault,
            ExeRtn::NoData,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

/// How to acknowledge: the 2017/2025 form, or the 2005 form that carries the answered
/// QN (and CN) inside CP. Configure per device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AckStyle {
    /// `QN=<qn>;ST=91;CN=9014;PW=…;MN=…;Flag=<version bits>;CP=&&&&`
    #[default]
    Standard,
    /// `ST=91;CN=9014;PW=…;MN=…;Flag=0;CP=&&QN=<qn>;CN=<cn>&&` (2005 loggers).
    QnInCp,
}

fn check_value(field: &str, value: &str) -> Result<(), BuildError> {
    let bad = value.contains([';', ',', '\r', '\n']) || value.contains("&&");
    if bad {
        return Err(BuildError::Separator {
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Err(BuildError::Spaces {
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// Header values are split on ';' only (and the first "CP=&&" starts the CP), so
/// anything else a logger sent (',', '=', even CR/LF) can be echoed back verbatim.
fn check_header_value(field: &str, value: &str) -> Result<(), BuildError> {
    if value.contains(';') || value.contains("CP=&&") {
        return Err(BuildError::Separator {
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Err(BuildError::Spaces {
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), BuildError> {
    if key.is_empty()
        || key.contains([';', ',', '=', '&', ' ', '\t', '\r', '\n'])
        || key.starts_with('-')
    {
        return Err(BuildError::BadKey(key.to_owned()));
    }
    Ok(())
}

fn digits(field: &'static str, value: &str, len: usize) -> Result<(), BuildError> {
    if value.len() == len && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(BuildError::Format {
            field,
            expected: match len {
                14 => "14 digits YYYYMMDDhhmmss",
                6 => "6 digits hhmmss",
                _ => "digits",
            },
            value: value.to_owned(),
        })
    }
}

impl Message {
    pub fn new(st: &str, cn: &str, pw: &str, mn: &str) -> Message {
        Message {
            qn: None,
            st: st.to_owned(),
            cn: cn.to_owned(),
            pw: pw.to_owned(),
            mn: mn.to_owned(),
            flag: None,
            packet_no: None,
            cp: Vec::new(),
        }
    }

    pub fn with_qn(mut self, qn: &str) -> Message {
        self.qn = Some(qn.to_owned());
        self
    }

    pub fn with_flag(mut self, flag: Flag) -> Message {
        self.flag = Some(flag);
        self
    }

    /// Add a CP group of `key=value` entries.
    pub fn group<K: Into<String>, V: Into<String>>(
        mut self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Message {
        self.cp.push(
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// The data segment as text (`QN=…;ST=…;…;CP=&&…&&`), after checking every value.
    pub fn data_segment(&self) -> Result<String, BuildError> {
        let mut out = String::with_capacity(128);
        if let Some(qn) = &self.qn {
            check_header_value("QN", qn)?;
            out.push_str("QN=");
            out.push_str(qn);
            out.push(';');
        }
        for (name, value) in [
            ("ST", &self.st),
            ("CN", &self.cn),
            ("PW", &self.pw),
            ("MN", &self.mn),
        ] {
            check_header_value(name, value)?;
            out.push_str(name);
            out.push('=');
            out.push_str(value);
            out.push(';');
        }
        if let Some(flag) = self.flag {
            out.push_str("Flag=");
            out.push_str(&flag.0.to_string());
            out.push(';');
        }
        if let Some((pnum, pno)) = self.packet_no {
            out.push_str(&format!("PNUM={pnum};PNO={pno};"));
        }
        out.push_str("CP=&&");
        for (gi, group) in self.cp.iter().enumerate() {
            if gi > 0 {
                out.push(';');
            }
            for (ei, (key, value)) in group.iter().enumerate() {
                check_key(key)?;
                check_value(key, value)?;
                if ei > 0 {
                    out.push(',');
                }
                out.push_str(key);
                out.push('=');
                out.push_str(value);
            }
        }
        out.push_str("&&");
        Ok(out)
    }

    /// Frame as UTF-8: `##LLLL<data><CRC>\r\n`.
    pub fn encode(&self) -> Result<Vec<u8>, BuildError> {
        let mut out = BytesMut::new();
        self.encode_into(Charset::Utf8, &mut out)?;
        Ok(out.to_vec())
    }

    /// Frame into `dst` in the given charset (`Auto` means UTF-8).
    pub fn encode_into(&self, charset: Charset, dst: &mut BytesMut) -> Result<(), BuildError> {
        let text = self.data_segment()?;
        match charset {
            Charset::Gbk => {
                let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
                if unmappable {
                    return Err(BuildError::Unencodable(text));
                }
                frame_bytes(&bytes, dst)
            }
            Charset::Utf8 | Charset::Auto => frame_bytes(text.as_bytes(), dst),
        }
    }
}

/// Frame an already serialized data segment: `##LLLL<data><CRC>\r\n`.
pub fn frame_bytes(data: &[u8], dst: &mut BytesMut) -> Result<(), BuildError> {
    if data.len() > crate::MAX_DATA_LEN {
        return Err(BuildError::TooLong { len: data.len() });
    }
    dst.reserve(data.len() + 12);
    dst.put_slice(b"##");
    dst.put_slice(format!("{:04}", data.len()).as_bytes());
    dst.put_slice(data);
    dst.put_slice(&crc::format(crc::hj212(data)));
    dst.put_slice(b"\r\n");
    Ok(())
}

fn answer_flag(packet: &Packet) -> Flag {
    // Echo the sender's version bits, A=0, D=0.
    Flag::new(packet.version().unwrap_or(Version::V2017), false, false)
}

impl Packet {
    fn answer(&self, cn: &str) -> Message {
        Message {
            qn: self.qn().map(str::to_owned),
            st: "91".to_owned(),
            cn: cn.to_owned(),
            pw: self.pw().unwrap_or("").to_owned(),
            mn: self.mn().unwrap_or("").to_owned(),
            flag: Some(answer_flag(self)),
            packet_no: None,
            cp: Vec::new(),
        }
    }

    /// 9014 data acknowledgement with this packet's own QN (each sub-packet is acked
    /// with its own QN).
    pub fn data_ack(&self) -> Message {
        self.data_ack_with(AckStyle::Standard)
    }

    /// 9014 in the given style.
    pub fn data_ack_with(&self, style: AckStyle) -> Message {
        match style {
            AckStyle::Standard => self.answer("9014"),
            AckStyle::QnInCp => self.answer_2005("9014", true),
        }
    }

    fn answer_2005(&self, cn: &str, with_cn: bool) -> Message {
        let mut m = self.answer(cn);
        m.qn = None;
        m.flag = Some(Flag(0));
        let mut group = Vec::new();
        if let Some(qn) = self.qn() {
            group.push(("QN".to_owned(), qn.to_owned()));
        }
        let mut groups = vec![group];
        if with_cn && let Some(orig) = self.cn() {
            groups.push(vec![("CN".to_owned(), orig.to_owned())]);
        }
        m.cp = groups.into_iter().filter(|g| !g.is_empty()).collect();
        m
    }

    /// 9013 notice answer (e.g. to a 1013 time-calibration request).
    pub fn notice_ack(&self) -> Message {
        self.answer("9013")
    }

    /// 9013 in the given style.
    pub fn notice_ack_with(&self, style: AckStyle) -> Message {
        match style {
            AckStyle::Standard => self.answer("9013"),
            AckStyle::QnInCp => self.answer_2005("9013", false),
        }
    }

    /// 9011 request answer with `QnRtn`.
    pub fn qn_rtn(&self, rtn: QnRtn) -> Message {
        let mut m = self.answer("9011");
        m.cp = vec![vec![("QnRtn".to_owned(), rtn.code().to_string())]];
        m
    }

    /// 9012 execution result with `ExeRtn`.
    pub fn exe_rtn(&self, rtn: ExeRtn) -> Message {
        let mut m = self.answer("9012");
        m.cp = vec![vec![("ExeRtn".to_owned(), rtn.code().to_string())]];
        m
    }
}

/// Builder of platform → logger requests for one device. Requests carry a fresh QN
/// (passed in by the caller: this crate has no clock) and set the A bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downlink {
    pub version: Version,
    /// The station's system code (ST) as registered.
    pub st: String,
    pub pw: String,
    pub mn: String,
}

/// History data kinds that can be requested with BeginTime/EndTime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryKind {
    /// 2031 daily data.
    Day,
    /// 2041 daily facility run time.
    DayRunTime,
    /// 2051 minute data.
    Minute,
    /// 2061 hourly data.
    Hour,
}

impl HistoryKind {
    pub fn cn(self) -> &'static str {
        match self {
            HistoryKind::Day => "2031",
            HistoryKind::DayRunTime => "2041",
            HistoryKind::Minute => "2051",
            HistoryKind::Hour => "2061",
        }
    }
}

/// Format a QN (`YYYYMMDDhhmmsszzz`) from its parts.
pub fn format_qn(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, ms: u16) -> String {
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{ms:03}")
}

impl Downlink {
    pub fn new(version: Version, st: &str, pw: &str, mn: &str) -> Downlink {
        Downlink {
            version,
            st: st.to_owned(),
            pw: pw.to_owned(),
            mn: mn.to_owned(),
        }
    }

    /// A request with any CN and CP (A bit set).
    pub fn request(&self, qn: &str, cn: &str) -> Message {
        Message::new(&self.st, cn, &self.pw, &self.mn)
            .with_qn(qn)
            .with_flag(Flag::new(self.version, false, true))
    }

    /// A notice (no answer wanted), e.g. 2012 / 2022.
    pub fn notice(&self, qn: &str, cn: &str) -> Message {
        Message::new(&self.st, cn, &self.pw, &self.mn)
            .with_qn(qn)
            .with_flag(Flag::new(self.version, false, false))
    }

    /// 1012 set the logger's time. `system_time` is `YYYYMMDDhhmmss` (Beijing time).
    pub fn set_time(
        &self,
        qn: &str,
        system_time: &str,
        polid: Option<&str>,
    ) -> Result<Message, BuildError> {
        digits("SystemTime", system_time, 14)?;
        let mut m = self.request(qn, "1012");
        if let Some(p) = polid {
            m = m.group([("PolId", p)]);
        }
        Ok(m.group([("SystemTime", system_time)]))
    }

    /// 1011 get the logger's (or an instrument's) time.
    pub fn get_time(&self, qn: &str, polid: Option<&str>) -> Message {
        let m = self.request(qn, "1011");
        match polid {
            Some(p) => m.group([("PolId", p)]),
            None => m,
        }
    }

    /// 1000 set answer timeout (s) and retries.
    pub fn set_timeout(&self, qn: &str, over_time: u32, re_count: u32) -> Message {
        self.request(qn, "1000")
            .group([("OverTime", over_time.to_string())])
            .group([("ReCount", re_count.to_string())])
    }

    /// 1062 set the real-time upload interval (seconds).
    pub fn set_rtd_interval(&self, qn: &str, seconds: u32) -> Message {
        self.request(qn, "1062")
            .group([("RtdInterval", seconds.to_string())])
    }

    /// 1064 set the minute-data interval (minutes).
    pub fn set_min_interval(&self, qn: &str, minutes: u32) -> Message {
        self.request(qn, "1064")
            .group([("MinInterval", minutes.to_string())])
    }

    /// 1072 set the logger password (`NewPW`; `PW` inside CP for 2005).
    pub fn set_password(&self, qn: &str, new_pw: &str) -> Message {
        let key = if self.version == Version::V2005 {
            "PW"
        } else {
            "NewPW"
        };
        self.request(qn, "1072").group([(key, new_pw)])
    }

    /// 2011 / 2021 start uploads of real-time data / equipment status.
    pub fn start_realtime(&self, qn: &str, status: bool) -> Message {
        self.request(qn, if status { "2021" } else { "2011" })
    }

    /// 2012 / 2022 stop uploads of real-time data / equipment status (notices).
    pub fn stop_realtime(&self, qn: &str, status: bool) -> Message {
        self.notice(qn, if status { "2022" } else { "2012" })
    }

    /// 2031/2041/2051/2061 ask for history between two `YYYYMMDDhhmmss` times.
    pub fn history(
        &self,
        qn: &str,
        kind: HistoryKind,
        begin: &str,
        end: &str,
    ) -> Result<Message, BuildError> {
        digits("BeginTime", begin, 14)?;
        digits("EndTime", end, 14)?;
        Ok(self
            .request(qn, kind.cn())
            .group([("BeginTime", begin)])
            .group([("EndTime", end)]))
    }

    /// 3011 zero/span calibration, 3012 immediate sampling, 3013 cleaning/blowback,
    /// and other commands that carry only `PolId`.
    pub fn polid_command(&self, qn: &str, cn: &str, polid: &str) -> Message {
        self.request(qn, cn).group([("PolId", polid)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, parse_frame};

    fn upload() -> Packet {
        parse_frame(
            b"##0325QN=20160801085000001;ST=32;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801084000;w00000-Cou=10.5,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=10.5,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&6180",
            &Options::default(),
        )
        .unwrap()
    }

    #[test]
    fn data_ack_echoes_qn_and_matches_the_standard_example() {
        let p = parse_frame(
            b"##0260QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&D941",
            &Options::default(),
        )
        .unwrap();
        let ack = p.data_ack().encode().unwrap();
        // The standard's C.50 ack of this sub-packet.
        assert_eq!(
            ack,
            b"##0087QN=20160801085857534;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&5B40\r\n"
        );
    }

    #[test]
    fn answers_parse_back() {
        let p = upload();
        for (m, cn) in [
            (p.data_ack(), "9014"),
            (p.notice_ack(), "9013"),
            (p.qn_rtn(QnRtn::Ready), "9011"),
            (p.exe_rtn(ExeRtn::NoData), "9012"),
        ] {
            let bytes = m.encode().unwrap();
            let back = parse_frame(&bytes, &Options::default()).unwrap();
            assert_eq!(back.cn(), Some(cn));
            assert_eq!(back.qn(), p.qn());
            assert_eq!(back.mn(), p.mn());
            assert_eq!(back.pw(), p.pw());
            assert_eq!(back.st(), Some("91"));
            assert!(!back.ack_requested(), "answers must not ask for an answer");
        }
        let back = parse_frame(
            &p.exe_rtn(ExeRtn::NoData).encode().unwrap(),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(back.cp("ExeRtn"), Some("100"));
    }

    #[test]
    fn ack_2005_style_carries_qn_in_cp() {
        let p = parse_frame(
            b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80",
            &Options::default(),
        )
        .unwrap();
        let m = p.data_ack_with(AckStyle::QnInCp);
        assert_eq!(
            m.data_segment().unwrap(),
            "ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;Flag=0;CP=&&QN=20160801085857223;CN=1062&&"
        );
    }

    #[test]
    fn time_sync_command() {
        let d = Downlink::new(Version::V2017, "32", "123456", "010000A8900016F000169DC0");
        let m = d
            .set_time("20160801085857223", "20160801085857", Some("w01018"))
            .unwrap();
        // The standard's C.3 example, framed.
        assert_eq!(
            m.encode().unwrap(),
            b"##0125QN=20160801085857223;ST=32;CN=1012;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&PolId=w01018;SystemTime=20160801085857&&0880\r\n"
        );
        assert!(d.set_time("1", "2016-08-01", None).is_err());
    }

    #[test]
    fn separators_in_values_are_refused() {
        let m = Message::new("32", "2011", "1", "MN;X");
        assert!(matches!(
            m.data_segment(),
            Err(BuildError::Separator { .. })
        ));
        let m = Message::new("32", "2011", "1", "A=B,C").with_qn("1 ");
        assert!(matches!(m.data_segment(), Err(BuildError::Spaces { .. })));
        // Header values are echoed verbatim: '=' and ',' can be built, but the parser
        // refuses them in an MN or QN (bounded, charset-checked identifiers).
        let m = Message::new("32", "2011", "1", "A=B,C").with_qn("1=2");
        let back =
            crate::parse_frame(&m.encode().unwrap(), &crate::Options::default()).unwrap_err();
        let partial = back.partial().unwrap();
        assert_eq!((partial.mn(), partial.qn()), (Some("A=B,C"), Some("1=2")));
        assert!(
            back.message().contains("header field QN"),
            "{}",
            back.message()
        );
        assert!(
            back.message().contains("header field MN"),
            "{}",
            back.message()
        );
        let m = Message::new("32", "2011", "1", "MN").group([("a-Rtd", "1,2")]);
        assert!(m.data_segment().is_err());
        let m = Message::new("32", "2011", "1", "MN").group([("a Rtd", "1")]);
        assert!(matches!(m.data_segment(), Err(BuildError::BadKey(_))));
    }

    #[test]
    fn gbk_encoding_counts_bytes() {
        let m = Message::new("32", "3020", "123456", "010000A8900016F000169DC0")
            .with_qn("20160801085857223")
            .with_flag(Flag(5))
            .group([("DataTime", "20100301145000")])
            .group([("PolId", "w01018")])
            .group([("i11001-Info", "//清洗管路//")]);
        let mut gbk = BytesMut::new();
        m.encode_into(Charset::Gbk, &mut gbk).unwrap();
        let utf8 = m.encode().unwrap();
        assert!(gbk.starts_with(b"##0148"));
        assert!(utf8.starts_with(b"##0152"));
        assert!(gbk.ends_with(b"DEC1\r\n"));
        assert!(utf8.ends_with(b"9741\r\n"));
    }
}
