//! The Markdown documents render as written: read with a CommonMark parser
//! (pulldown-cmark), every fenced code block is closed by a fence of its own and holds
//! no fence line or heading (an unclosed or mistyped fence turns the rest of a page into
//! code), info strings are one word, and every relative link names a file that exists.

use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};

fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut docs = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    docs.push(root.join("bench/README.md"));
    docs.retain(|p| p.exists());
    assert!(docs.len() >= 5, "{docs:?}");
    docs
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

fn problems(path: &Path, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let block = text[range.clone()].trim_end();
                let fence: String = block
                    .chars()
                    .take_while(|c| *c == '`' || *c == '~')
                    .collect();
                let last = block.lines().last().unwrap_or_default().trim();
                if block.lines().count() < 2
                    || !last.starts_with(&fence)
                    || !last.trim_matches(|c| c == '`' || c == '~').is_empty()
                {
                    found.push(format!(
                        "{}:{}: a code block that no fence closes (it runs to line {})",
                        path.display(),
                        line_of(text, range.start),
                        line_of(text, range.end.saturating_sub(1)),
                    ));
                }
                // A fence with words after it cannot close a block: the block runs on,
                // and the fences after it pair up wrongly, turning prose into code.
                let inner: Vec<&str> = block.lines().skip(1).collect();
                let inner = &inner[..inner.len().saturating_sub(1)];
                for (i, line) in inner.iter().enumerate() {
                    if line.starts_with(&fence) || line.starts_with("## ") {
                        found.push(format!(
                            "{}:{}: {:?} inside a code block: a fence with text after it, or a heading swallowed by an unclosed block",
                            path.display(),
                            line_of(text, range.start) + 1 + i,
                            line
                        ));
                    }
                }
                if info.split_whitespace().count() > 1 {
                    found.push(format!(
                        "{}:{}: fence info string {:?} is text, not a language: a closing fence with words after it?",
                        path.display(),
                        line_of(text, range.start),
                        info.as_ref()
                    ));
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                let url = dest_url.as_ref();
                if url.contains("://") || url.starts_with('#') || url.starts_with("mailto:") {
                    continue;
                }
                let file = url.split('#').next().unwrap_or_default();
                if !path.parent().unwrap().join(file).exists() {
                    found.push(format!(
                        "{}:{}: link to {url}, which does not exist",
                        path.display(),
                        line_of(text, range.start)
                    ));
                }
            }
            _ => {}
        }
    }
    found
}

#[test]
fn every_document_closes_its_code_blocks_and_links_to_files_that_exist() {
    let mut found = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        found.extend(problems(&doc, &text));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_check_finds_a_mistyped_closing_fence() {
    let broken = "# A\n\n```\ncode\n``` Text after the fence\n\n## B\n\nmore\n";
    let found = problems(Path::new("x.md"), broken);
    assert!(
        found.iter().any(|f| f.contains("no fence closes")),
        "{found:?}"
    );
    // Relative links resolve beside the document (the tests run in the crate's folder).
    let here = Path::new("tests/x.md");
    let fine = "# A\n\n```toml\ncode\n```\n\ntext [link](docs.rs#top)\n";
    assert_eq!(problems(here, fine), Vec::<String>::new());
    let dangling = "text [link](no-such-file.md)\n";
    assert!(problems(here, dangling)[0].contains("link to no-such-file.md, which does not exist"));
}
