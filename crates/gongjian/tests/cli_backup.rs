//! Issue #10 item 12, black box: `gongjian backup` writes one archive of the
//! database and the attachment files; `gongjian restore` checks it whole and
//! brings both back; a damaged archive is refused with nothing changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gongjian_storage::{Actor, Db, DbOptions, FireKind, NewAttachment, NewFirePoint, OrgKind};
use sha2::{Digest, Sha256};

/// A PNG-looking attachment, unique to the test.
const PHOTO: &[u8] = b"\x89PNG\r\n\x1a\n fire point photo for the backup test";

fn gongjian(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("GONGJIAN_DATABASE_URL")
        .env("GONGJIAN_LOG_LEVEL", "warn")
        .output()
        .expect("run gongjian")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("gongjian.db").display())
}

fn photo_path(dir: &Path) -> PathBuf {
    let sha = hex::encode(Sha256::digest(PHOTO));
    dir.join("attachments").join(&sha[..2]).join(&sha)
}

/// A township, a fire point with one photo (file and row), as the web
/// application stores them.
async fn seed(dir: &Path) {
    let db = Db::connect(&db_url(dir), &DbOptions::default())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let actor = Actor::cli();
    let town = db
        .organisations()
        .create_organisation(&actor, "原武镇", OrgKind::Township, None)
        .await
        .unwrap();
    let path = photo_path(dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, PHOTO).unwrap();
    db.campaigns()
        .add_fire_point(
            &actor,
            &NewFirePoint {
                township_id: town.id,
                occurred_on: "2020-06-05".parse().unwrap(),
                place: "大宋庄村北麦田".into(),
                kind: FireKind::Straw,
                note: String::new(),
                attachments: vec![NewAttachment {
                    sha256: hex::encode(Sha256::digest(PHOTO)),
                    content_type: "image/png".into(),
                    size: PHOTO.len() as i64,
                    file_name: "火点.png".into(),
                }],
                reply_due: None,
                longitude: None,
                latitude: None,
            },
        )
        .await
        .unwrap();
    db.close().await;
}

/// (organisation names, attachment rows) in the database of `dir`.
async fn contents(dir: &Path) -> (Vec<String>, i64) {
    let db = Db::connect(&db_url(dir), &DbOptions::default())
        .await
        .unwrap();
    let orgs = db
        .organisations()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attachments")
        .fetch_one(db.read_pool())
        .await
        .unwrap();
    db.close().await;
    (orgs, files)
}

fn backup(dir: &Path, archive: &Path) {
    let out = gongjian(&["backup", "--output", archive.to_str().unwrap()], dir);
    assert!(out.status.success(), "backup failed: {}", text(&out));
    assert!(text(&out).contains("1 个附件"), "{}", text(&out));
}

#[test]
fn item_12_backup_and_restore_bring_back_attachments_and_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let archive = tmp.path().join("backup.tar.gz");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed(&dir));
    let before = rt.block_on(contents(&dir));
    assert_eq!(before, (vec!["原武镇".to_owned()], 1));
    backup(&dir, &archive);

    // Lose the attachment and change the rows.
    std::fs::remove_file(photo_path(&dir)).unwrap();
    rt.block_on(async {
        let db = Db::connect(&db_url(&dir), &DbOptions::default())
            .await
            .unwrap();
        db.organisations()
            .create_organisation(&Actor::cli(), "师寨镇", OrgKind::Township, None)
            .await
            .unwrap();
        db.close().await;
    });

    // A data directory with data is not overwritten without --force.
    let out = gongjian(&["restore", archive.to_str().unwrap()], &dir);
    assert!(!out.status.success());
    assert!(text(&out).contains("--force"), "{}", text(&out));

    let out = gongjian(&["restore", archive.to_str().unwrap(), "--force"], &dir);
    assert!(out.status.success(), "restore failed: {}", text(&out));
    assert_eq!(std::fs::read(photo_path(&dir)).unwrap(), PHOTO);
    assert_eq!(rt.block_on(contents(&dir)), before);

    // Into an empty directory as well (a new machine).
    let fresh = tmp.path().join("fresh");
    let out = gongjian(&["restore", archive.to_str().unwrap()], &fresh);
    assert!(out.status.success(), "restore failed: {}", text(&out));
    assert_eq!(std::fs::read(photo_path(&fresh)).unwrap(), PHOTO);
    assert_eq!(rt.block_on(contents(&fresh)), before);
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_name() != "gongjian.lock" {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn item_12_corrupted_archive_is_refused_and_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let archive = tmp.path().join("backup.tar.gz");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed(&dir));
    backup(&dir, &archive);
    std::fs::remove_file(photo_path(&dir)).unwrap();
    let before = snapshot(&dir);

    let good = std::fs::read(&archive).unwrap();
    // One flipped byte in the compressed body, or in the gzip trailer's
    // CRC-32 (the last 8 bytes are CRC-32 and length).
    for at in [good.len() / 3, good.len() / 2, good.len() - 6] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        let damaged = tmp.path().join(format!("damaged-{at}.tar.gz"));
        std::fs::write(&damaged, &bad).unwrap();
        let out = gongjian(&["restore", damaged.to_str().unwrap(), "--force"], &dir);
        assert!(
            !out.status.success(),
            "a damaged archive (byte {at}) was restored: {}",
            text(&out)
        );
        assert!(text(&out).contains("未做任何改动"), "{}", text(&out));
        assert_eq!(snapshot(&dir), before, "byte {at}: the data dir changed");
    }
}

#[test]
fn item_12_archive_with_a_foreign_member_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = tmp.path().join("evil.tar.gz");
    let file = std::fs::File::create(&archive).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    // The tar crate refuses to write `..`; write the name bytes directly.
    h.as_old_mut().name[..11].copy_from_slice(b"../evil.txt");
    h.set_cksum();
    tar.append(&h, &b"evil"[..]).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let out = gongjian(&["restore", archive.to_str().unwrap()], &dir);
    assert!(!out.status.success());
    assert!(text(&out).contains("路径不允许"), "{}", text(&out));
    assert!(!tmp.path().join("evil.txt").exists());
}
