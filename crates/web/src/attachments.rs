//! Attachments of progress reports and fire points: stored under
//! `<data_dir>/attachments/<first two hex digits>/<sha256>`, named by their
//! SHA-256 checksum (so the same file is kept once), with the type sniffed
//! from the content — images, PDF and Office files only — and a size limit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gongjian_storage::NewAttachment;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Settings of the campaign workflow, from the `[campaign]` config section.
#[derive(Debug, Clone)]
pub struct CampaignSettings {
    pub data_dir: PathBuf,
    pub attachment_max_bytes: u64,
    pub reminder_days: u32,
    /// Largest body of one submission with files (report, fire point).
    pub upload_request_max_bytes: u64,
    /// Most files in one submission.
    pub upload_max_files: usize,
    /// Uploads one user may run at the same time.
    pub uploads_per_user: usize,
    /// Uploads the server runs at the same time.
    pub uploads_total: usize,
    /// Largest body of a spreadsheet import (read in memory).
    pub import_max_bytes: u64,
}

impl Default for CampaignSettings {
    fn default() -> Self {
        CampaignSettings::from_config(&gongjian_config::Config::default())
    }
}

impl CampaignSettings {
    pub fn from_config(config: &gongjian_config::Config) -> CampaignSettings {
        let c = &config.campaign;
        CampaignSettings {
            data_dir: config.data_dir.clone(),
            attachment_max_bytes: c.attachment_max_bytes,
            reminder_days: c.reminder_days,
            upload_request_max_bytes: c.upload_request_max_bytes,
            upload_max_files: c.upload_max_files as usize,
            uploads_per_user: c.uploads_per_user.max(1) as usize,
            uploads_total: c.uploads_total.max(1) as usize,
            import_max_bytes: c.import_max_bytes,
        }
    }

    pub fn attachments_dir(&self) -> PathBuf {
        self.data_dir.join("attachments")
    }

    /// Where uploads are written while they arrive, before they are checked
    /// and renamed into place (same file system as the attachments).
    pub fn incoming_dir(&self) -> PathBuf {
        self.attachments_dir().join(".incoming")
    }

    /// Where the file with this checksum lives.
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.attachments_dir().join(&sha256[..2]).join(sha256))
    }

    /// The body limit of routes that take submissions with files.
    pub fn upload_body_limit(&self) -> axum::extract::DefaultBodyLimit {
        axum::extract::DefaultBodyLimit::max(to_usize(self.upload_request_max_bytes))
    }

    /// The body limit of spreadsheet-import routes.
    pub fn import_body_limit(&self) -> axum::extract::DefaultBodyLimit {
        axum::extract::DefaultBodyLimit::max(to_usize(self.import_max_bytes))
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Parts of an Office Open XML package that name its application.
const OOXML_NEEDLES: [&[u8]; 4] = [b"[Content_Types].xml", b"word/", b"xl/", b"ppt/"];
const OOXML_CARRY: usize = 18; // longest needle − 1

/// Finds a file's type from its bytes as they arrive, chunk by chunk,
/// without keeping the file: the first bytes, and whether the parts that
/// name an Office Open XML application occur anywhere in it.
#[derive(Debug, Default)]
pub struct Sniffer {
    head: Vec<u8>,
    carry: Vec<u8>,
    found: [bool; 4],
}

impl Sniffer {
    pub fn update(&mut self, chunk: &[u8]) {
        if self.head.len() < 12 {
            let take = (12 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if self.found.iter().all(|f| *f) {
            return;
        }
        // Needles that straddle the previous chunk and this one.
        let mut seam = std::mem::take(&mut self.carry);
        seam.extend_from_slice(&chunk[..chunk.len().min(OOXML_CARRY)]);
        for (i, needle) in OOXML_NEEDLES.iter().enumerate() {
            if !self.found[i] {
                let has = |b: &[u8]| b.windows(needle.len()).any(|w| w == *needle);
                self.found[i] = has(&seam) || has(chunk);
            }
        }
        self.carry = if chunk.len() >= OOXML_CARRY {
            chunk[chunk.len() - OOXML_CARRY..].to_vec()
        } else {
            // The seam is the old carry and the whole chunk.
            let keep = seam.len().min(OOXML_CARRY);
            seam.split_off(seam.len() - keep)
        };
    }

    /// The accepted type, if the bytes seen are one.
    pub fn content_type(&self) -> Option<&'static str> {
        let bytes = &self.head[..];
        let starts = |p: &[u8]| bytes.starts_with(p);
        if starts(b"\xFF\xD8\xFF") {
            return Some("image/jpeg");
        }
        if starts(b"\x89PNG\r\n\x1a\n") {
            return Some("image/png");
        }
        if starts(b"GIF87a") || starts(b"GIF89a") {
            return Some("image/gif");
        }
        if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            return Some("image/webp");
        }
        if starts(b"%PDF-") {
            return Some("application/pdf");
        }
        // OLE2 compound file: .doc, .xls, .ppt (97–2003).
        if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
            return Some("application/x-ole-storage");
        }
        // Office Open XML is a ZIP whose entries name the application part.
        if starts(b"PK\x03\x04") && self.found[0] {
            if self.found[1] {
                return Some(
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                );
            }
            if self.found[2] {
                return Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
            }
            if self.found[3] {
                return Some(
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                );
            }
        }
        None
    }
}

/// The accepted types: images, PDF and Office files, sniffed from content.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let mut s = Sniffer::default();
    s.update(bytes);
    s.content_type()
}

/// A file being written under the incoming directory. Dropped before it is
/// kept — refused, failed, or the request cut off — it is deleted.
#[derive(Debug)]
struct TempUpload {
    path: PathBuf,
    kept: bool,
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn create_temp(dir: &Path) -> std::io::Result<(TempUpload, tokio::fs::File)> {
    tokio::fs::create_dir_all(dir).await?;
    let path = dir.join(format!("{}.part", crate::session::random_hex(16)));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(&path).await?;
    Ok((TempUpload { path, kept: false }, file))
}

/// A checked upload waiting in the incoming directory.
#[derive(Debug)]
struct Staged {
    temp: TempUpload,
    sha256: String,
    content_type: &'static str,
}

/// One uploaded file as received: either staged (within the limit, an
/// accepted type) or refused with the Chinese reason, naming the file. A
/// refused file has already been deleted.
#[derive(Debug)]
pub struct Received {
    /// The name without any directory part, for display.
    pub file_name: String,
    /// Bytes received (counted to the end even past the limit).
    pub size: u64,
    outcome: Result<Staged, String>,
}

/// Why a file could not be received: the request broke off, or the server
/// could not write.
#[derive(Debug)]
pub enum ReceiveError {
    Multipart(axum::extract::multipart::MultipartError),
    Io(std::io::Error),
}

impl Received {
    /// The type sniffed from the content, if the file was accepted.
    pub fn sniffed_type(&self) -> Option<&'static str> {
        self.outcome.as_ref().ok().map(|s| s.content_type)
    }

    /// The reason the file is refused, if it is.
    pub fn refusal(&self) -> Option<&str> {
        self.outcome.as_ref().err().map(String::as_str)
    }

    /// Move a staged file into place under its checksum (a file already
    /// stored is kept once). The error is the Chinese reason: the refusal,
    /// or a storage failure.
    pub async fn store(self, settings: &CampaignSettings) -> Result<NewAttachment, String> {
        let name = self.file_name;
        let mut staged = self.outcome?;
        let path = settings.path_of(&staged.sha256).expect("a hex digest");
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            // Same content stored before; the staged copy is deleted on drop.
        } else {
            let dir = path.parent().expect("attachment paths have a parent");
            let moved = async {
                tokio::fs::create_dir_all(dir).await?;
                tokio::fs::rename(&staged.temp.path, &path).await
            }
            .await;
            if let Err(e) = moved {
                tracing::error!(error = %e, path = %path.display(), "cannot store attachment");
                return Err(format!("附件 {name} 保存失败（服务器存储错误）"));
            }
            staged.temp.kept = true;
        }
        Ok(NewAttachment {
            sha256: staged.sha256.clone(),
            content_type: staged.content_type.to_owned(),
            size: self.size as i64,
            file_name: name,
        })
    }
}

/// Receive one file field chunk by chunk into a temporary file in the
/// incoming directory, hashing and sniffing as it arrives. Past
/// `attachment_max_bytes` the temporary file is deleted at once and the
/// rest of the field is read and thrown away (the request's body limit
/// bounds that), so the file is refused without ever being held whole.
pub async fn receive(
    settings: &CampaignSettings,
    file_name: &str,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Received, ReceiveError> {
    let name = clean_name(file_name);
    let (temp, mut file) = create_temp(&settings.incoming_dir())
        .await
        .map_err(ReceiveError::Io)?;
    let mut temp = Some(temp);
    let mut hasher = Sha256::new();
    let mut sniffer = Sniffer::default();
    let mut size: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(ReceiveError::Multipart)? {
        size += chunk.len() as u64;
        if temp.is_none() {
            continue;
        }
        if size > settings.attachment_max_bytes {
            temp = None;
            continue;
        }
        hasher.update(&chunk);
        sniffer.update(&chunk);
        file.write_all(&chunk).await.map_err(ReceiveError::Io)?;
    }
    file.flush().await.map_err(ReceiveError::Io)?;
    drop(file);
    let outcome = match temp {
        None => Err(format!(
            "附件 {name} 大小 {} 超过上限 {}，未保存",
            human_size(size),
            human_size(settings.attachment_max_bytes)
        )),
        Some(_) if size == 0 => Err(format!("附件 {name} 是空文件")),
        Some(temp) => match sniffer.content_type() {
            Some(content_type) => Ok(Staged {
                temp,
                sha256: hex::encode(hasher.finalize()),
                content_type,
            }),
            None => Err(format!(
                "附件 {name} 的文件类型不允许（只接受图片 JPG/PNG/GIF/WEBP、PDF 和 Office 文档），未保存"
            )),
        },
    };
    Ok(Received {
        file_name: name,
        size,
        outcome,
    })
}

/// The file name without any directory part, for display only.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if base.is_empty() {
        "未命名文件".to_owned()
    } else {
        base
    }
}

pub fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} 字节")
    }
}

/// Why an upload must wait: its user already runs as many as allowed, or
/// the server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    User,
    Server,
}

impl Busy {
    pub fn message(self) -> &'static str {
        match self {
            Busy::User => "同时上传的文件过多，请稍后再试",
            Busy::Server => "服务器正在处理的上传过多，请稍后再试",
        }
    }
}

/// Bounds uploads running at once, per user and in total. A permit is
/// taken before a body is read and given back when it drops.
#[derive(Debug)]
pub struct UploadGate {
    per_user: usize,
    total: usize,
    running: std::sync::Mutex<(usize, HashMap<i64, usize>)>,
}

/// One running upload; dropping it frees the slot.
#[derive(Debug)]
pub struct UploadPermit {
    gate: Arc<UploadGate>,
    user_id: i64,
}

impl UploadGate {
    pub fn new(per_user: usize, total: usize) -> UploadGate {
        UploadGate {
            per_user: per_user.max(1),
            total: total.max(1),
            running: Default::default(),
        }
    }

    /// Take a slot for `user_id`, or say why not (never waits).
    pub fn try_acquire(self: &Arc<Self>, user_id: i64) -> Result<UploadPermit, Busy> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let (total, users) = &mut *running;
        let mine = users.get(&user_id).copied().unwrap_or(0);
        if mine >= self.per_user {
            return Err(Busy::User);
        }
        if *total >= self.total {
            return Err(Busy::Server);
        }
        *total += 1;
        users.insert(user_id, mine + 1);
        Ok(UploadPermit {
            gate: Arc::clone(self),
            user_id,
        })
    }

    /// Uploads running now (for tests and metrics).
    pub fn running(&self) -> usize {
        self.running.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

impl Drop for UploadPermit {
    fn drop(&mut self) {
        let mut running = self.gate.running.lock().unwrap_or_else(|e| e.into_inner());
        let (total, users) = &mut *running;
        *total = total.saturating_sub(1);
        if let Some(n) = users.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                users.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_accepted_types_and_refuses_others() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Some("image/png"));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0"), Some("image/jpeg"));
        assert_eq!(sniff(b"MZ\x90\0"), None, "a Windows executable");
        assert_eq!(sniff(b"PK\x03\x04plain.zip"), None, "a plain zip");
        assert_eq!(sniff(b"<html>"), None);
    }

    #[test]
    fn sniffs_office_parts_across_chunk_seams() {
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend_from_slice(&[0u8; 100]);
        zip.extend_from_slice(b"[Content_Types].xml");
        zip.extend_from_slice(&[0u8; 50]);
        zip.extend_from_slice(b"xl/workbook.xml");
        let whole = sniff(&zip);
        assert_eq!(
            whole,
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        // Every chunk size, so that each needle is cut at every position.
        for size in 1..40 {
            let mut s = Sniffer::default();
            for chunk in zip.chunks(size) {
                s.update(chunk);
            }
            assert_eq!(s.content_type(), whole, "chunks of {size}");
        }
    }

    #[test]
    fn upload_gate_bounds_per_user_and_total() {
        let gate = Arc::new(UploadGate::new(2, 3));
        let a1 = gate.try_acquire(1).unwrap();
        let _a2 = gate.try_acquire(1).unwrap();
        assert_eq!(gate.try_acquire(1).unwrap_err(), Busy::User);
        let _b1 = gate.try_acquire(2).unwrap();
        assert_eq!(gate.try_acquire(3).unwrap_err(), Busy::Server);
        drop(a1);
        assert_eq!(gate.running(), 2);
        let _c1 = gate.try_acquire(3).unwrap();
    }
}
