//! Attachments of progress reports and fire points: stored under
//! `<data_dir>/attachments/<first two hex digits>/<sha256>`, named by their
//! SHA-256 checksum (so the same file is kept once), with the type sniffed
//! from the content — images, PDF and Office files only — and a size limit.

use std::path::{Path, PathBuf};

use gongjian_storage::NewAttachment;
use sha2::{Digest, Sha256};

/// Settings of the campaign workflow, from the `[campaign]` config section.
#[derive(Debug, Clone)]
pub struct CampaignSettings {
    pub data_dir: PathBuf,
    pub attachment_max_bytes: u64,
    pub reminder_days: u32,
}

impl Default for CampaignSettings {
    fn default() -> Self {
        CampaignSettings {
            data_dir: PathBuf::from("gongjian-data"),
            attachment_max_bytes: 20 * 1024 * 1024,
            reminder_days: 7,
        }
    }
}

impl CampaignSettings {
    pub fn from_config(config: &gongjian_config::Config) -> CampaignSettings {
        CampaignSettings {
            data_dir: config.data_dir.clone(),
            attachment_max_bytes: config.campaign.attachment_max_bytes,
            reminder_days: config.campaign.reminder_days,
        }
    }

    pub fn attachments_dir(&self) -> PathBuf {
        self.data_dir.join("attachments")
    }

    /// Where the file with this checksum lives.
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.attachments_dir().join(&sha256[..2]).join(sha256))
    }
}

/// The accepted types: (MIME type, description).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
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
    if starts(b"PK\x03\x04") {
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        if has(b"[Content_Types].xml") {
            if has(b"word/") {
                return Some(
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                );
            }
            if has(b"xl/") {
                return Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
            }
            if has(b"ppt/") {
                return Some(
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                );
            }
        }
    }
    None
}

/// What [`check`] found in an acceptable file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The name without any directory part, for display.
    pub file_name: String,
    pub content_type: &'static str,
}

/// Check one uploaded file — not empty, within the size limit, an accepted
/// type — without storing it, so a caller can refuse a whole submission
/// before anything is written. The error is the Chinese reason shown to
/// the user, naming the file.
pub fn check(
    settings: &CampaignSettings,
    file_name: &str,
    bytes: &[u8],
) -> Result<Checked, String> {
    let name = clean_name(file_name);
    if bytes.is_empty() {
        return Err(format!("附件 {name} 是空文件"));
    }
    if bytes.len() as u64 > settings.attachment_max_bytes {
        return Err(format!(
            "附件 {name} 大小 {} 超过上限 {}，未保存",
            human_size(bytes.len() as u64),
            human_size(settings.attachment_max_bytes)
        ));
    }
    let Some(content_type) = sniff(bytes) else {
        return Err(format!(
            "附件 {name} 的文件类型不允许（只接受图片 JPG/PNG/GIF/WEBP、PDF 和 Office 文档），未保存"
        ));
    };
    Ok(Checked {
        file_name: name,
        content_type,
    })
}

/// Check and store one uploaded file. The error is the Chinese reason shown
/// to the user, naming the file.
pub fn store(
    settings: &CampaignSettings,
    file_name: &str,
    bytes: &[u8],
) -> Result<NewAttachment, String> {
    let Checked {
        file_name: name,
        content_type,
    } = check(settings, file_name, bytes)?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    let path = settings.path_of(&sha256).expect("a hex digest");
    if !path.exists() {
        write_atomically(&path, bytes).map_err(|e| {
            tracing::error!(error = %e, path = %path.display(), "cannot store attachment");
            format!("附件 {name} 保存失败（服务器存储错误）")
        })?;
    }
    Ok(NewAttachment {
        sha256,
        content_type: content_type.to_owned(),
        size: bytes.len() as i64,
        file_name: name,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("attachment paths have a parent");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("upload")
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
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

/// The deadline service: raise milestone reminders and mark overdue
/// assignments now and then every hour, until `stop` turns true.
pub async fn deadline_job(
    db: gongjian_storage::Db,
    reminder_days: u32,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match db
            .run_deadlines(gongjian_storage::today_cst(), reminder_days)
            .await
        {
            Ok(run) => tracing::debug!(?run, "deadlines"),
            Err(e) => tracing::warn!(error = %e, "deadline run failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
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
    fn stores_by_checksum_and_checks_size() {
        let dir = tempfile::tempdir().unwrap();
        let settings = CampaignSettings {
            data_dir: dir.path().to_owned(),
            attachment_max_bytes: 16,
            reminder_days: 7,
        };
        let a = store(&settings, "C:\\照片\\火点.png", b"\x89PNG\r\n\x1a\nabc").unwrap();
        assert_eq!(a.file_name, "火点.png");
        assert_eq!(a.content_type, "image/png");
        assert!(settings.path_of(&a.sha256).unwrap().exists());
        let big = store(&settings, "big.pdf", &[b'%'; 17]).unwrap_err();
        assert!(big.contains("超过上限"), "{big}");
        let exe = store(&settings, "a.exe", b"MZ\x90\0").unwrap_err();
        assert!(exe.contains("a.exe") && exe.contains("类型不允许"), "{exe}");
    }
}
