//! Source files: reading a topology from a file or a directory of `.hcl` files.
//!
//! Consumes a path given on the command line; produces [`Sources`], the texts with stable
//! [`FileId`]s that every later stage uses to point back at a line. This is the only place the
//! core reads the file system for topologies.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

/// A place in the sources: a file and a byte range in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: FileId,
    pub span: Range<usize>,
}

impl Ord for Loc {
    fn cmp(&self, o: &Loc) -> std::cmp::Ordering {
        (self.file, self.span.start, self.span.end).cmp(&(o.file, o.span.start, o.span.end))
    }
}

impl PartialOrd for Loc {
    fn partial_cmp(&self, o: &Loc) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Loc {
    pub fn new(file: FileId, span: Range<usize>) -> Loc {
        Loc { file, span }
    }
}

/// The most a topology's files may hold together: larger input is refused before it is read
/// (a 30,000-service topology is about 35 MB).
pub const MAX_TOPOLOGY_BYTES: u64 = 64 * 1024 * 1024;
/// The most a saved plan or a manifest may hold: a saved plan carries its topology's files
/// (at most [`MAX_TOPOLOGY_BYTES`]) and the live state it read; one of 10,000 services is
/// about 54 MiB.
pub const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024 * 1024;

/// What a source file is to a topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// One of the topology's `.hcl` files.
    Topology,
    /// A `--var-file`: `name = value` lines.
    VarFile,
    /// Values given on the command line and in the environment, one per line
    /// ([`GIVEN_NAME`]).
    Given,
}

/// One source file: the name it is shown under, its text, and where its lines start.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<str>,
    pub role: Role,
    line_starts: Arc<[usize]>,
}

impl SourceFile {
    pub fn new(name: String, text: Arc<str>) -> SourceFile {
        SourceFile::with_role(name, text, Role::Topology)
    }

    pub fn with_role(name: String, text: Arc<str>, role: Role) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name,
            text,
            role,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset, without rescanning the file.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let line_start = self.line_starts[line.saturating_sub(1)];
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// The byte range of the 1-based line `line` (without its newline).
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let start = self.line_starts[line.clamp(1, self.line_starts.len()) - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        start..end.max(start)
    }

    /// How many lines the file has.
    pub fn lines(&self) -> usize {
        self.line_starts.len()
    }
}

pub fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The name of the synthetic source holding variables' values given on the command line and
/// in the environment ([`Role::Given`]).
pub const GIVEN_NAME: &str = "<command line>";

/// Values for a topology's variables from outside its files.
#[derive(Debug, Clone, Default)]
pub struct VarInputs {
    /// `MERIDIAN_VAR_NAME=VALUE` from the environment: (NAME, VALUE), sorted.
    pub env: Vec<(String, String)>,
    /// `--var-file FILE`, in order.
    pub files: Vec<PathBuf>,
    /// `--var NAME=VALUE`, in order.
    pub pairs: Vec<String>,
    /// The values a saved plan was made with.
    pub saved: std::collections::BTreeMap<String, serde_json::Value>,
}

/// All files of one topology, in a stable order (sorted by name).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

/// Why a topology could not be read at all.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    #[diagnostic(code(meridian::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no .hcl files")]
    #[diagnostic(
        code(meridian::no_files),
        help(
            "a topology is one .hcl file or a directory of them; the read-only commands also take a tree and find the topologies in it at any depth"
        )
    )]
    NoFiles { path: PathBuf },
    #[error(
        "{path} is not a topology: it holds {count} below it, and this command takes exactly one"
    )]
    #[diagnostic(
        code(meridian::many_topologies),
        help("name the topology's directory or file: {list}")
    )]
    ManyTopologies {
        path: PathBuf,
        count: String,
        list: String,
    },
    #[error("{path} is not a regular file")]
    #[diagnostic(
        code(meridian::not_a_file),
        help("a topology is read from regular .hcl files (not a pipe, a device or a socket); for standard input, `meridian fmt -` reads it")
    )]
    NotAFile { path: PathBuf },
    #[error("{path}: the topology is larger than {} MiB", MAX_TOPOLOGY_BYTES / 1024 / 1024)]
    #[diagnostic(
        code(meridian::too_large),
        help("a topology's .hcl files may hold 64 MiB together; split it into several topologies")
    )]
    TooLarge { path: PathBuf },
    #[error("{path} is larger than {} MiB", MAX_DOCUMENT_BYTES / 1024 / 1024)]
    #[diagnostic(
        code(meridian::too_large),
        help("a saved plan or manifest this large was not written by Meridian (one of 10,000 services is about 54 MiB)")
    )]
    DocumentTooLarge { path: PathBuf },
}

/// Reads a saved plan or another document Meridian wrote, up to [`MAX_DOCUMENT_BYTES`]: a
/// device or a runaway file is refused without being read.
pub fn read_document(p: &Path) -> Result<String, LoadError> {
    let mut budget = MAX_DOCUMENT_BYTES;
    read_bounded(p, &mut budget).map_err(|e| match e {
        LoadError::TooLarge { path } => LoadError::DocumentTooLarge { path },
        other => other,
    })
}

/// Reads one file of at most a topology's size (`fmt` on a single file): a device or a
/// runaway file is refused, never read to the end of memory.
pub fn read_one(p: &Path) -> Result<String, LoadError> {
    let mut budget = MAX_TOPOLOGY_BYTES;
    read_bounded(p, &mut budget)
}

/// Reads standard input up to a topology's size; more is an error.
pub fn read_stdin() -> Result<String, LoadError> {
    use std::io::Read;
    let path = PathBuf::from("<stdin>");
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_TOPOLOGY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_TOPOLOGY_BYTES {
        return Err(LoadError::TooLarge { path });
    }
    String::from_utf8(bytes).map_err(|e| LoadError::Io {
        path,
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ),
    })
}

/// Reads one file within what is left of the topology's size budget, never more.
fn read_bounded(p: &Path, budget: &mut u64) -> Result<String, LoadError> {
    use std::io::Read;
    let io = |source| LoadError::Io {
        path: p.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(p).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(LoadError::NotAFile {
            path: p.to_path_buf(),
        });
    }
    // Known too large before a byte is read (the read below still stops at the budget).
    if meta.len() > *budget {
        return Err(LoadError::TooLarge {
            path: p.to_path_buf(),
        });
    }
    let mut bytes = Vec::new();
    file.take(*budget + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > *budget {
        return Err(LoadError::TooLarge {
            path: p.to_path_buf(),
        });
    }
    *budget -= bytes.len() as u64;
    String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ))
    })
}

/// HCL that is not Meridian's by its name: Terraform's lock file, Terragrunt's configuration,
/// Packer templates and variable files (and any hidden file).
pub fn foreign_by_name(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.starts_with('.')
        || name == "terragrunt.hcl"
        || name.ends_with(".pkr.hcl")
        || name.ends_with(".pkrvars.hcl")
}

/// The top-level blocks and attributes of a topology (`schemas/topology.schema.json`).
const MERIDIAN_TOP: &[&str] = &[
    "backend",
    "dependency",
    "health_check_scope",
    "lint",
    "name",
    "objectives",
    "prices",
    "provider",
    "registry",
    "service",
    "tag_health_checks",
    "zones",
];

/// What an `.hcl` file's text says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HclKind {
    /// It has a Meridian top-level block or attribute.
    Meridian,
    /// It has top-level items, none of them Meridian's (Terraform, Packer, Terragrunt).
    Foreign,
    /// Nothing at the top level (empty, comments only): part of whatever its directory is.
    Unknown,
}

/// Classifies a file by its top-level words: lines that start at column 0 with a name followed
/// by a label, `=` or `{`. `provider` counts as Meridian's only with the label `"aws"`.
pub fn hcl_kind(text: &str) -> HclKind {
    let mut foreign = false;
    let mut heredoc: Option<String> = None;
    for line in text.lines() {
        // A heredoc's body is text, not top-level words (Terragrunt's `generate` blocks hold
        // Terraform in column 0).
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        heredoc = heredoc_end(line);
        if line.starts_with([' ', '\t', '#', '/', '}', '*']) || line.trim().is_empty() {
            continue;
        }
        let word: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let rest = line[word.len()..].trim_start();
        if word.is_empty() || !rest.starts_with(['"', '=', '{']) {
            continue;
        }
        // `variable` is Terraform's, Packer's and Nomad's word too: it marks no file.
        if word == "variable" {
            continue;
        }
        let meridian = MERIDIAN_TOP.contains(&word.as_str())
            && (word != "provider" || rest.starts_with("\"aws\""));
        if meridian {
            return HclKind::Meridian;
        }
        foreign = true;
    }
    if foreign {
        HclKind::Foreign
    } else {
        HclKind::Unknown
    }
}

/// The word that ends a heredoc opened on `line` (`<<EOF`, `<<-EOF`), if one is.
fn heredoc_end(line: &str) -> Option<String> {
    let at = line.find("<<")?;
    // `key = <<EOF`: not a comment's or a string's `<<`.
    if !line[..at].trim_end().ends_with('=') || line.trim_start().starts_with(['#', '/']) {
        return None;
    }
    let word: String = line[at + 2..]
        .trim_start_matches('-')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// What a directory tree holds.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Directories (or the file given) that are topologies, sorted.
    pub topologies: Vec<PathBuf>,
    /// Directories whose `.hcl` files are none of them Meridian's, with one such file.
    pub skipped: Vec<(PathBuf, PathBuf)>,
}

/// What a path names: one topology, or a tree of them.
///
/// A file is one topology. Under a directory, at any depth, every directory holding an `.hcl`
/// file with a Meridian top-level block (or one with nothing at the top level: an empty file
/// is an error of that topology, never skipped) is a topology; hidden directories,
/// `.terraform`, `target` and what `.gitignore` ignores are not entered, and directories whose
/// `.hcl` files are all another tool's (Terraform's lock file, `terragrunt.hcl`, `*.pkr.hcl`,
/// files with only other blocks) are skipped and listed.
pub fn discover_tree(path: &Path) -> Result<Discovered, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(Discovered {
            topologies: vec![path.to_path_buf()],
            skipped: Vec::new(),
        });
    }
    // A directory that is a topology itself is that topology, whatever lies below it (a
    // `canary/` topology inside `infra/`): `plan infra --out` plans infra.
    if is_topology_dir(path) {
        return Ok(Discovered {
            topologies: vec![path.to_path_buf()],
            skipped: Vec::new(),
        });
    }
    let mut by_dir: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
    for p in walk_hcl(path) {
        if let Some(dir) = p.parent() {
            by_dir.entry(dir.to_path_buf()).or_default().push(p);
        }
    }
    let mut found = Discovered::default();
    for (dir, files) in by_dir {
        if files.iter().any(|f| file_kind(f) == HclKind::Meridian) {
            found.topologies.push(dir);
        } else if let Some(f) = files.first() {
            found.skipped.push((dir, f.clone()));
        }
    }
    // A directory named whose own files hold no Meridian block yet (empty, comments, variables
    // only), with no topology below: it is the topology, and reading it says what is missing.
    if found.topologies.is_empty()
        && own_hcl(path)
            .iter()
            .any(|f| file_kind(f) != HclKind::Foreign)
    {
        found.topologies.push(path.to_path_buf());
        found.skipped.retain(|(d, _)| d != path);
    }
    if found.topologies.is_empty() && found.skipped.is_empty() {
        return Err(LoadError::NoFiles {
            path: path.to_path_buf(),
        });
    }
    Ok(found)
}

/// What an `.hcl` file is, by its name, then its top-level words (an unreadable file is
/// [`HclKind::Unknown`]: reading it as a topology reports why).
fn file_kind(f: &Path) -> HclKind {
    if foreign_by_name(f) {
        return HclKind::Foreign;
    }
    let mut budget = MAX_TOPOLOGY_BYTES;
    read_bounded(f, &mut budget).map_or(HclKind::Unknown, |t| hcl_kind(&t))
}

/// Whether `dir` is inside a git repository (an ancestor holds `.git`).
fn in_git_repository(dir: &Path) -> bool {
    // Resolved, so `../topos` from inside another repository is judged where it is.
    std::fs::canonicalize(dir)
        .map(|d| d.ancestors().any(|a| a.join(".git").exists()))
        .unwrap_or(false)
}

/// Whether `dir` directly holds a topology's `.hcl` files (its own, not another tool's).
fn is_topology_dir(dir: &Path) -> bool {
    own_hcl(dir)
        .iter()
        .any(|p| file_kind(p) == HclKind::Meridian)
}

/// The `.hcl` files directly in `dir`.
fn own_hcl(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hcl") && p.is_file())
        .collect()
}

/// Every `.hcl` file under `dir`, sorted, as [`discover_tree`] walks: hidden directories
/// (`.terraform`, `.git`, `.meridian`), `target`, symlinks and what `.gitignore` ignores are
/// left out.
fn walk_hcl(dir: &Path) -> Vec<PathBuf> {
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        // Inside a git repository, only its own ignore files count (git's view: a
        // `.gitignore` above the repository's root ignores nothing in it); outside one,
        // `.gitignore` files are honoured all the same.
        .require_git(in_git_repository(dir))
        .follow_links(false)
        // Hidden files are seen (a `.terraform.lock.hcl` is skipped with a note, by its
        // name); hidden directories are not entered.
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            let dir = e.file_type().is_some_and(|t| t.is_dir());
            e.depth() == 0 || !(dir && (name.starts_with('.') || name == "target"))
        })
        .build();
    let mut out: Vec<PathBuf> = walker
        .flatten()
        // A symlinked file is read through (a shared `main.hcl`); a symlinked directory is
        // not entered (loops).
        .filter(|e| {
            e.file_type()
                .is_some_and(|t| t.is_file() || (t.is_symlink() && e.path().is_file()))
        })
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "hcl"))
        .collect();
    out.sort();
    out
}

/// The `.hcl` files `fmt` formats under `path` (a file, or every file [`walk_hcl`] finds in a
/// directory) and, apart, those it leaves alone as another tool's HCL (by name or by its
/// top-level blocks): a pre-commit hook names Terraform's lock file too.
pub fn hcl_files(path: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), LoadError> {
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let files = if meta.is_dir() {
        walk_hcl(path)
    } else {
        vec![path.to_path_buf()]
    };
    Ok(files.into_iter().partition(|f| {
        let mut budget = MAX_TOPOLOGY_BYTES;
        !foreign_by_name(f)
            && read_bounded(f, &mut budget).map_or(true, |t| hcl_kind(&t) != HclKind::Foreign)
    }))
}

/// The topologies under `path` ([`discover_tree`]).
pub fn discover(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    discover_tree(path).map(|d| d.topologies)
}

/// Why a directory with no `.hcl` file of its own is not a topology: it holds some below it
/// (named, for a command that takes one), or none.
fn below(path: &Path) -> LoadError {
    let found = discover_tree(path)
        .map(|d| d.topologies)
        .unwrap_or_default();
    if found.is_empty() {
        return LoadError::NoFiles {
            path: path.to_path_buf(),
        };
    }
    let shown: Vec<String> = found
        .iter()
        .take(5)
        .map(|p| p.display().to_string())
        .collect();
    let more = found.len().saturating_sub(shown.len());
    LoadError::ManyTopologies {
        path: path.to_path_buf(),
        count: match found.len() {
            1 => "one topology".to_string(),
            n => format!("{n} topologies"),
        },
        list: if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        },
    }
}

impl Sources {
    /// Sources from in-memory texts (tests, fuzzing, stdin).
    pub fn from_texts<I, N, T>(files: I) -> Sources
    where
        I: IntoIterator<Item = (N, T)>,
        N: Into<String>,
        T: Into<Arc<str>>,
    {
        Sources {
            files: files
                .into_iter()
                .map(|(name, text)| SourceFile::new(name.into(), text.into()))
                .collect(),
        }
    }

    /// Reads `path`: one file, or every `*.hcl` file directly inside a directory (sorted by
    /// name, like a Terraform module; subdirectories are not read).
    pub fn load(path: &Path) -> Result<Sources, LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let mut paths = Vec::new();
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).map_err(io)? {
                let entry = entry.map_err(io)?;
                let p = entry.path();
                // Another tool's HCL beside a topology is not part of it.
                if p.extension().is_some_and(|e| e == "hcl") && p.is_file() && !foreign_by_name(&p)
                {
                    paths.push(p);
                }
            }
            paths.sort();
            if paths.is_empty() {
                return Err(below(path));
            }
        } else if meta.is_file() {
            paths.push(path.to_path_buf());
        } else {
            return Err(LoadError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        let mut files = Vec::with_capacity(paths.len());
        let mut budget = MAX_TOPOLOGY_BYTES;
        for p in paths {
            let text = read_bounded(&p, &mut budget)?;
            files.push(SourceFile::new(p.display().to_string(), text.into()));
        }
        Ok(Sources { files })
    }

    /// Adds the values given for variables: each `--var-file` as a source of its own, and
    /// the environment's `MERIDIAN_VAR_NAME`, `--var NAME=VALUE` and a saved plan's values as
    /// the lines of one synthetic source, so a diagnostic points at the value as given.
    pub fn with_variables(mut self, given: &VarInputs) -> Result<Sources, LoadError> {
        for path in &given.files {
            let mut budget = MAX_TOPOLOGY_BYTES;
            let text = read_bounded(path, &mut budget)?;
            let name = path.display().to_string();
            self.files
                .push(SourceFile::with_role(name, text.into(), Role::VarFile));
        }
        let json = |v: &str| serde_json::Value::String(v.to_string()).to_string();
        let mut lines = String::new();
        for (name, value) in &given.env {
            lines.push_str(&format!("MERIDIAN_VAR_{name}={}\n", json(value)));
        }
        for pair in &given.pairs {
            match pair.split_once('=') {
                Some((name, value)) if !name.contains('"') => {
                    lines.push_str(&format!("--var {name}={}\n", json(value)));
                }
                _ => lines.push_str(&format!("--var {}\n", json(pair))),
            }
        }
        for (name, value) in &given.saved {
            lines.push_str(&format!("saved {name}={value}\n"));
        }
        if !lines.is_empty() {
            let name = GIVEN_NAME.to_string();
            self.files
                .push(SourceFile::with_role(name, lines.into(), Role::Given));
        }
        Ok(self)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_chars() {
        let s = Sources::from_texts([("a.hcl", "ab\ncdé\nx")]);
        let f = s.get(FileId(0));
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(7), (2, 4));
        assert_eq!(f.line_col(8), (3, 1));
        assert_eq!(f.line_col(999), (3, 2));
    }
}
