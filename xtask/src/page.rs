//! The page around the wasm: `index.html`, its stylesheet and icon under
//! content-hashed names, and the files served as they are. This is all
//! trunk did for us, and installing trunk cost a cold CI run 12 minutes
//! (384 crates); the wasm itself is built in web_build.rs.

use std::path::Path;

use crate::{root, Result};

/// Files and folders copied into `dist/` as they are: (source, name in dist).
/// sw.js and the web app manifest must keep fixed names at the root.
const COPIED: [(&str, &str); 5] = [
    ("assets", "assets"),
    ("app/icons", "icons"),
    ("app/sw.js", "sw.js"),
    ("app/manifest.webmanifest", "manifest.webmanifest"),
    ("app/embed.js", "embed.js"),
];

/// The attribute that marks a link in `index.html` whose file the build
/// copies under a content-hashed name, with its integrity hash.
const HASHED: &str = "data-hashed";

/// Writes `dist/` afresh: the copied files, and `index.html` with each
/// `href="<source>" data-hashed` link pointing at `/<stem>-<hash>.<ext>`.
pub fn build_page(dist: &Path) -> Result {
    if dist.exists() {
        std::fs::remove_dir_all(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    }
    std::fs::create_dir_all(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    for (source, name) in COPIED {
        copy_all(&root().join(source), &dist.join(name))?;
    }
    let index = root().join("index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let page = with_hashed_links(
        &html,
        |source| {
            let path = root().join(source);
            std::fs::read(&path).map_err(|e| format!("index.html names {source}: {e}"))
        },
        |name, bytes| {
            std::fs::write(dist.join(name), bytes).map_err(|e| format!("dist/{name}: {e}"))
        },
    )?;
    std::fs::write(dist.join("index.html"), page).map_err(|e| format!("dist/index.html: {e}"))
}

/// `html` with each `href="<source>" data-hashed` replaced by the hashed
/// file's URL and its SHA-384 integrity; `read` gives a source's bytes and
/// `write` stores them under the hashed name.
fn with_hashed_links(
    html: &str,
    read: impl Fn(&str) -> Result<Vec<u8>>,
    mut write: impl FnMut(&str, &[u8]) -> Result,
) -> Result<String> {
    use base64::Engine;
    use sha2::Digest;
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(HASHED) {
        let before = &rest[..at];
        let href = before
            .rfind("href=\"")
            .ok_or_else(|| format!("index.html: `{HASHED}` without an href before it"))?;
        let source = before[href + 6..]
            .strip_suffix("\" ")
            .ok_or_else(|| format!("index.html: write `href=\"…\" {HASHED}`"))?;
        let bytes = read(source)?;
        let file = Path::new(source);
        let (stem, ext) = (
            file.file_stem().and_then(|s| s.to_str()).unwrap_or("file"),
            file.extension().and_then(|s| s.to_str()).unwrap_or(""),
        );
        let name = format!("{stem}-{}.{ext}", crate::web_build::short_hash(&bytes));
        write(&name, &bytes)?;
        let integrity =
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(&bytes));
        out.push_str(&before[..href]);
        out.push_str(&format!(
            "href=\"/{name}\" integrity=\"sha384-{integrity}\""
        ));
        rest = &rest[at + HASHED.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Copies a file, or a folder with everything in it.
fn copy_all(from: &Path, to: &Path) -> Result {
    let meta = std::fs::metadata(from).map_err(|e| format!("{}: {e}", from.display()))?;
    if !meta.is_dir() {
        std::fs::copy(from, to)
            .map_err(|e| format!("{} → {}: {e}", from.display(), to.display()))?;
        return Ok(());
    }
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        copy_all(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_link_gets_its_files_name_and_integrity() {
        let mut written = Vec::new();
        let page = with_hashed_links(
            r#"<link rel="stylesheet" href="app/style.css" data-hashed /><link rel="manifest" href="/m" />"#,
            |source| {
                assert_eq!(source, "app/style.css");
                Ok(b"body{}".to_vec())
            },
            |name, bytes| {
                written.push((name.to_string(), bytes.to_vec()));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(written.len(), 1);
        let name = &written[0].0;
        assert!(
            name.starts_with("style-") && name.ends_with(".css"),
            "{name}"
        );
        assert_eq!(name.len(), "style-".len() + 16 + ".css".len());
        assert!(
            page.starts_with(&format!(
                r#"<link rel="stylesheet" href="/{name}" integrity="sha384-"#
            )),
            "{page}"
        );
        assert!(
            page.ends_with(r#"" /><link rel="manifest" href="/m" />"#),
            "{page}"
        );
        // A changed file gets a new name.
        let other = with_hashed_links(
            r#"<link href="app/style.css" data-hashed />"#,
            |_| Ok(b"body{color:red}".to_vec()),
            |n, _| {
                assert_ne!(n, name);
                Ok(())
            },
        );
        assert!(other.is_ok());
        assert!(with_hashed_links("<link data-hashed />", |_| Ok(vec![]), |_, _| Ok(())).is_err());
    }
}
