//! Chapter 6: an inverted index over the Tang poems. A dictionary of terms,
//! each with a posting list (document ids, term frequencies, positions)
//! stored as delta-encoded variable-byte integers; Boolean and phrase
//! queries; BM25 and WAND over it.

pub mod query;
pub mod rank;
pub mod terms;
pub mod varint;

use std::collections::HashMap;

use crate::{error::ComputeError, tang::Poem};
pub use terms::{segment, ScriptFold, Segmentation, Term};

/// Chapter 6's 50 fixed queries, as a visitor would type them (simplified):
/// the native tests and the tantivy comparison run them all.
pub const REFERENCE_QUERIES: [&str; 50] = [
    "明月",
    "春风",
    "白云",
    "故乡",
    "江南",
    "秋风",
    "青山",
    "流水",
    "落花",
    "夕阳",
    "长安",
    "黄河",
    "孤舟",
    "归来",
    "相思",
    "万里",
    "千里",
    "美人",
    "将军",
    "天涯",
    "芳草",
    "杨柳",
    "烟花",
    "梅花",
    "桃花",
    "风雨",
    "人间",
    "山中",
    "寒山",
    "东风",
    "明月 故乡",
    "春风 杨柳",
    "白云 青山",
    "江南 落花",
    "秋风 长安",
    "孤舟 夕阳",
    "黄河 万里",
    "相思 明月",
    "将军 万里",
    "天涯 芳草",
    "东风 桃花",
    "山中 白云",
    "人间 天上",
    "寒山 秋风",
    "明月光",
    "春眠不觉晓",
    "白发三千丈",
    "独在异乡",
    "床前明月",
    "西出阳关",
];

/// A document: its id (the poem's index j over all 57,607 Tang poems) and
/// its folded text, the title, author and poem apart by newlines so that no
/// term spans two fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub id: u32,
    pub text: String,
}

impl Doc {
    pub fn new(id: u32, title: &str, author: &str, text: &str, fold: &ScriptFold) -> Doc {
        Doc {
            id,
            text: fold.text(&format!("{title}\n{author}\n{text}")),
        }
    }
}

/// The corpus's poems as documents, in their (increasing) order.
pub fn corpus_docs(poems: &[Poem], fold: &ScriptFold) -> Vec<Doc> {
    poems
        .iter()
        .map(|p| Doc::new(p.j as u32, &p.title, &p.author, &p.text, fold))
        .collect()
}

/// Which characters of `text` (unfolded: title, author and poem apart by
/// newlines, as in [`Doc`]) belong to an occurrence of one of `terms`, as
/// the index segments it. Folding maps character to character, so the
/// positions carry over.
pub fn highlight(
    text: &str,
    fold: &ScriptFold,
    terms: &[String],
    segmentation: Segmentation,
) -> Vec<bool> {
    let mut marked = vec![false; text.chars().count()];
    for term in segment(&fold.text(text), segmentation) {
        if terms.contains(&term.text) {
            let start = term.position as usize;
            let end = (start + term.text.chars().count()).min(marked.len());
            marked[start..end].fill(true);
        }
    }
    marked
}

/// One term's postings, compressed: the document ids as gaps, each
/// document's term frequency, and each occurrence's position as gaps within
/// its document, all variable-byte integers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PostingList {
    pub df: u32,
    pub ids: Vec<u8>,
    pub tfs: Vec<u8>,
    pub positions: Vec<u8>,
}

/// A posting list, decoded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Postings {
    pub ids: Vec<u32>,
    pub tfs: Vec<u32>,
    /// Each document's positions: `positions[offsets[k]..offsets[k + 1]]`.
    pub offsets: Vec<u32>,
    pub positions: Vec<u32>,
}

impl Postings {
    pub fn positions_of(&self, k: usize) -> &[u32] {
        &self.positions[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }
}

impl PostingList {
    fn encode(postings: &Postings) -> PostingList {
        let mut list = PostingList {
            df: postings.ids.len() as u32,
            ..PostingList::default()
        };
        varint::encode_gaps(&postings.ids, &mut list.ids);
        for (k, &tf) in postings.tfs.iter().enumerate() {
            varint::push(tf, &mut list.tfs);
            varint::encode_gaps(postings.positions_of(k), &mut list.positions);
        }
        list
    }

    pub fn decode(&self) -> Result<Postings, ComputeError> {
        let df = self.df as usize;
        let ids = varint::decode_gaps(&self.ids, &mut 0, df)?;
        let mut tfs = Vec::with_capacity(df);
        let mut offsets = Vec::with_capacity(df + 1);
        let mut positions = Vec::new();
        let (mut at_tf, mut at_pos) = (0, 0);
        offsets.push(0);
        for _ in 0..df {
            let tf = varint::read(&self.tfs, &mut at_tf)?;
            tfs.push(tf);
            positions.extend(varint::decode_gaps(
                &self.positions,
                &mut at_pos,
                tf as usize,
            )?);
            offsets.push(positions.len() as u32);
        }
        if at_tf != self.tfs.len() || at_pos != self.positions.len() {
            return Err(ComputeError::Cpu(
                "a posting list has bytes left over".into(),
            ));
        }
        Ok(Postings {
            ids,
            tfs,
            offsets,
            positions,
        })
    }

    /// The list's bytes as delta + varint.
    pub fn compressed_bytes(&self) -> usize {
        self.ids.len() + self.tfs.len() + self.positions.len()
    }

    /// How many positions the list holds (without decoding it).
    pub fn position_count(&self) -> u64 {
        varint_count(&self.positions)
    }

    /// The list's bytes were every id, frequency and position a raw u32.
    pub fn raw_bytes(&self) -> u64 {
        4 * (2 * u64::from(self.df) + self.position_count())
    }
}

/// Byte counts for the whole index: every id, frequency and position as a
/// raw u32, against delta + varint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexBytes {
    pub postings: u64,
    pub positions: u64,
    pub raw: u64,
    pub compressed: u64,
    pub raw_ids: u64,
    pub compressed_ids: u64,
}

/// The inverted index. Terms are sorted; `lists[k]` belongs to `terms[k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub segmentation: Segmentation,
    pub terms: Vec<String>,
    pub lists: Vec<PostingList>,
    /// Every document's id and length in terms, in id order.
    pub doc_ids: Vec<u32>,
    pub doc_lens: Vec<u32>,
}

/// Builds an [`Index`] a slice of documents at a time, so a page can show
/// progress and stay responsive between slices. Documents must come in
/// increasing id order.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    segmentation: Segmentation,
    dictionary: HashMap<String, usize>,
    building: Vec<Postings>,
    doc_ids: Vec<u32>,
    doc_lens: Vec<u32>,
}

impl IndexBuilder {
    pub fn new(segmentation: Segmentation) -> IndexBuilder {
        IndexBuilder {
            segmentation,
            ..IndexBuilder::default()
        }
    }

    pub fn add(&mut self, doc: &Doc) -> Result<(), ComputeError> {
        if self.doc_ids.last().is_some_and(|&last| doc.id <= last) {
            return Err(ComputeError::Cpu(format!(
                "document {} comes after {}: ids must increase",
                doc.id,
                self.doc_ids.last().unwrap()
            )));
        }
        let terms = segment(&doc.text, self.segmentation);
        // Each term's positions in this document, in order of first
        // occurrence.
        let mut here: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        for Term { text, position } in &terms {
            let next = self.building.len();
            let term = *self.dictionary.entry(text.clone()).or_insert(next);
            if term == next {
                self.building.push(Postings {
                    offsets: vec![0],
                    ..Postings::default()
                });
            }
            let k = *slot.entry(term).or_insert_with(|| {
                here.push((term, Vec::new()));
                here.len() - 1
            });
            here[k].1.push(*position);
        }
        for (term, positions) in here {
            let list = &mut self.building[term];
            list.ids.push(doc.id);
            list.tfs.push(positions.len() as u32);
            list.positions.extend(positions);
            list.offsets.push(list.positions.len() as u32);
        }
        self.doc_ids.push(doc.id);
        self.doc_lens.push(terms.len() as u32);
        Ok(())
    }

    pub fn docs(&self) -> usize {
        self.doc_ids.len()
    }

    /// Sorts the dictionary and compresses every list.
    pub fn finish(self) -> Index {
        let mut order: Vec<(String, usize)> = self.dictionary.into_iter().collect();
        order.sort();
        let lists = order
            .iter()
            .map(|(_, k)| PostingList::encode(&self.building[*k]))
            .collect();
        Index {
            segmentation: self.segmentation,
            terms: order.into_iter().map(|(term, _)| term).collect(),
            lists,
            doc_ids: self.doc_ids,
            doc_lens: self.doc_lens,
        }
    }
}

impl Index {
    pub fn build(docs: &[Doc], segmentation: Segmentation) -> Result<Index, ComputeError> {
        let mut builder = IndexBuilder::new(segmentation);
        for doc in docs {
            builder.add(doc)?;
        }
        Ok(builder.finish())
    }

    pub fn docs(&self) -> usize {
        self.doc_ids.len()
    }

    pub fn avg_doc_len(&self) -> f64 {
        let total: u64 = self.doc_lens.iter().map(|&l| u64::from(l)).sum();
        total as f64 / self.docs().max(1) as f64
    }

    /// The length in terms of the document with id `id`.
    pub fn doc_len(&self, id: u32) -> Option<u32> {
        self.doc_ids
            .binary_search(&id)
            .ok()
            .map(|k| self.doc_lens[k])
    }

    /// The list of `term`, if the dictionary has it.
    pub fn list(&self, term: &str) -> Option<&PostingList> {
        self.terms
            .binary_search_by(|t| t.as_str().cmp(term))
            .ok()
            .map(|k| &self.lists[k])
    }

    pub fn postings(&self, term: &str) -> Result<Postings, ComputeError> {
        self.list(term)
            .map_or(Ok(Postings::default()), PostingList::decode)
    }

    /// The bytes the index holds in memory: its terms, compressed lists and
    /// document tables (not the allocator's slack).
    pub fn heap_bytes(&self) -> u64 {
        let terms: usize = self
            .terms
            .iter()
            .map(|t| t.len() + std::mem::size_of::<String>())
            .sum();
        let lists: usize = self
            .lists
            .iter()
            .map(|l| l.compressed_bytes() + std::mem::size_of::<PostingList>())
            .sum();
        (terms + lists + 4 * (self.doc_ids.len() + self.doc_lens.len())) as u64
    }

    pub fn bytes(&self) -> IndexBytes {
        let mut bytes = IndexBytes::default();
        for list in &self.lists {
            bytes.postings += u64::from(list.df);
            bytes.positions += list.position_count();
            bytes.raw += list.raw_bytes();
            bytes.compressed += list.compressed_bytes() as u64;
            bytes.raw_ids += 4 * u64::from(list.df);
            bytes.compressed_ids += list.ids.len() as u64;
        }
        bytes
    }
}

/// How many variable-byte integers `bytes` holds: one ends at each byte
/// without the high bit.
fn varint_count(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| *b & 0x80 == 0).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Vec<Doc> {
        let fold = ScriptFold::default();
        vec![
            Doc::new(
                3,
                "靜夜思",
                "李白",
                "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",
                &fold,
            ),
            Doc::new(7, "月夜", "杜甫", "今夜鄜州月，閨中只獨看。", &fold),
            Doc::new(9, "山居", "王維", "明月松間照，清泉石上流。", &fold),
        ]
    }

    #[test]
    fn postings_hold_ids_frequencies_and_positions() {
        let index = Index::build(&docs(), Segmentation::Bigrams).unwrap();
        assert!(index.terms.windows(2).all(|w| w[0] < w[1]));
        let moon = index.postings("明月").unwrap();
        assert_eq!(moon.ids, [3, 9]);
        assert_eq!(moon.tfs, [2, 1]);
        // 靜夜思\n李白\n床前明月光…望明月: 明月 starts at characters 9 and 22.
        assert_eq!(moon.positions_of(0), [9, 22]);
        assert_eq!(moon.positions_of(1), [6]);
        assert_eq!(index.postings("不在").unwrap(), Postings::default());
        assert_eq!(index.doc_len(7), Some(1 + 1 + 4 + 4));
        assert!(index.bytes().compressed < index.bytes().raw);
    }

    #[test]
    fn every_list_round_trips() {
        let index = Index::build(&docs(), Segmentation::Chars).unwrap();
        for list in &index.lists {
            let decoded = list.decode().unwrap();
            assert_eq!(&PostingList::encode(&decoded), list);
        }
        let mut broken = index.lists[0].clone();
        broken.tfs.push(1);
        assert!(broken.decode().is_err());
    }

    #[test]
    fn highlights_mark_each_occurrence_of_a_term() {
        let fold = ScriptFold::default();
        let text = "靜夜思\n李白\n床前明月光，舉頭望明月。";
        let marked = highlight(text, &fold, &["明月".to_string()], Segmentation::Bigrams);
        let shown: String = text
            .chars()
            .zip(&marked)
            .map(|(c, &m)| if m { c } else { '_' })
            .collect();
        assert_eq!(shown, "_________明月_____明月_");
    }

    #[test]
    fn ids_must_increase() {
        let mut builder = IndexBuilder::new(Segmentation::Bigrams);
        let docs = docs();
        builder.add(&docs[1]).unwrap();
        assert!(builder.add(&docs[0]).is_err());
    }
}
