//! From an instruction in either script to the constraint it states.
//!
//! Cue words are matched on the instruction folded to simplified script;
//! the characters it quotes in 「」 (or 『』, “”, "") are converted to the
//! corpus's script through the vocabulary, as chapter 4's acrostic does, so
//! a character the model has no token for is an error, never `<unk>`.
//!
//! The rules, in order, on the text outside the quotes:
//! 1. 藏头 → an acrostic of the quoted heads;
//! 2. 续, 接着写, 开头 or 起句 → a continuation of the quoted first line;
//! 3. one quoted character and a negation (不 别 勿 避 禁 免) → exclusion;
//! 4. one quoted character → keyword;
//! 5. nothing quoted → a form.
//!
//! Every rule but the continuation needs a form's name (五绝, 五言绝句, …).

use crate::{
    search::terms::ScriptFold,
    tang::{CharTokenizer, Form, SimplifiedToTraditional},
};

use super::constraint::{head_positions, Constraint};

/// Why an instruction states no constraint we can check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the instruction is empty")]
    Empty,
    #[error("no form is named (五绝, 七绝, 五律 or 七律)")]
    NoForm,
    #[error("two forms are named")]
    TwoForms,
    #[error("the instruction asks for nothing a program can check")]
    Unrecognised,
    #[error("put the character, heads or line in 「」 quotes")]
    Unquoted,
    #[error("a 「」 quote is not closed")]
    Unclosed,
    #[error("the quotes hold nothing")]
    EmptyQuote,
    #[error("the model has no character {0:?}, in either script")]
    Unknown(char),
    #[error("{0:?} is not a character a poem can use")]
    Punctuation(char),
    #[error("{got} heads for a poem of {lines} lines (give {lines} or {half})", half = lines / 2)]
    HeadCount { got: usize, lines: usize },
    #[error("a first line of {0} characters (give 5 or 7)")]
    LineWidth(usize),
    #[error("the first line has {width} characters but a {form} has {needs}", form = form.name(), needs = form.width())]
    FormWidth { form: Form, width: usize },
}

/// Openings and closings of a quote.
const QUOTES: [(char, char); 4] = [('「', '」'), ('『', '』'), ('“', '”'), ('"', '"')];
const NEGATIONS: [char; 6] = ['不', '别', '勿', '避', '禁', '免'];
const CONTINUATION_CUES: [&str; 5] = ["续", "接着写", "接著写", "开头", "起句"];

/// The two tables an instruction is read with.
#[derive(Debug, Clone, PartialEq)]
pub struct Scripts {
    pub fold: ScriptFold,
    pub s2t: SimplifiedToTraditional,
}

impl Scripts {
    /// From `assets/tokenizer/opencc-st-characters.txt`.
    pub fn from_opencc(st_characters: &str) -> Scripts {
        Scripts {
            fold: ScriptFold::from_opencc(st_characters),
            s2t: SimplifiedToTraditional::parse(st_characters),
        }
    }
}

/// The constraint `instruction` states. Its characters come back in the
/// corpus's script.
pub fn parse(
    instruction: &str,
    scripts: &Scripts,
    vocab: &CharTokenizer,
) -> Result<Constraint, ParseError> {
    let text = instruction.trim();
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let (outside, quoted) = split_quote(text)?;
    let cues = scripts.fold.text(&outside);
    let form = form_named(&cues)?;
    let to_corpus = |c: char| -> Result<char, ParseError> {
        if !c.is_alphanumeric() {
            return Err(ParseError::Punctuation(c));
        }
        // A traditional variant the corpus does not use (為 for its 爲)
        // goes through its simplified form.
        let id = vocab
            .typed_id(c, &scripts.s2t)
            .or_else(|| vocab.typed_id(scripts.fold.char(c), &scripts.s2t))
            .ok_or(ParseError::Unknown(c))?;
        Ok(vocab.tokens[id as usize].chars().next().unwrap_or(c))
    };
    let Some(quoted) = quoted else {
        // A keyword or a line without quotes would be read as a bare form:
        // better to ask for the quotes.
        let asks_more = cues.contains('字')
            || cues.contains("藏头")
            || CONTINUATION_CUES.iter().any(|c| cues.contains(c))
            || cues.chars().any(|c| NEGATIONS.contains(&c));
        return match form {
            _ if asks_more => Err(ParseError::Unquoted),
            Some(form) => Ok(Constraint::Form(form)),
            None => Err(ParseError::NoForm),
        };
    };
    // Separators inside the quotes are not part of the heads or the line.
    let slot: Vec<char> = quoted
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '，' | '。' | '、' | ',' | '.' | '；' | ';'))
        .collect();
    if slot.is_empty() {
        return Err(ParseError::EmptyQuote);
    }
    if cues.contains("藏头") {
        let form = form.ok_or(ParseError::NoForm)?;
        if head_positions(form, slot.len()).is_empty() {
            return Err(ParseError::HeadCount {
                got: slot.len(),
                lines: form.lines(),
            });
        }
        let heads = slot.into_iter().map(to_corpus).collect::<Result<_, _>>()?;
        return Ok(Constraint::Acrostic { form, heads });
    }
    if CONTINUATION_CUES.iter().any(|c| cues.contains(c)) {
        let width = slot.len();
        if width != 5 && width != 7 {
            return Err(ParseError::LineWidth(width));
        }
        if let Some(form) = form.filter(|f| f.width() != width) {
            return Err(ParseError::FormWidth { form, width });
        }
        let line = slot.into_iter().map(to_corpus).collect::<Result<_, _>>()?;
        return Ok(Constraint::Continuation { line, form });
    }
    let form = form.ok_or(ParseError::NoForm)?;
    let [c] = slot[..] else {
        return Err(ParseError::Unrecognised);
    };
    let ch = to_corpus(c)?;
    if cues.chars().any(|c| NEGATIONS.contains(&c)) {
        Ok(Constraint::Exclusion { form, ch })
    } else {
        Ok(Constraint::Keyword { form, ch })
    }
}

/// The text outside the first quote, and the quote's content.
fn split_quote(text: &str) -> Result<(String, Option<String>), ParseError> {
    let Some((start, open)) = text
        .char_indices()
        .find(|(_, c)| QUOTES.iter().any(|q| q.0 == *c))
    else {
        return Ok((text.to_string(), None));
    };
    let close = QUOTES.iter().find(|q| q.0 == open).map_or(open, |q| q.1);
    let inner_start = start + open.len_utf8();
    let Some(len) = text[inner_start..].find(close) else {
        return Err(ParseError::Unclosed);
    };
    let inner = text[inner_start..inner_start + len].to_string();
    let after = &text[inner_start + len + close.len_utf8()..];
    Ok((format!("{}{}", &text[..start], after), Some(inner)))
}

/// The form named in `folded` (simplified script), if one is.
fn form_named(folded: &str) -> Result<Option<Form>, ParseError> {
    let names = |form: Form| -> [&'static str; 2] {
        match form {
            Form::Wujue => ["五绝", "五言绝"],
            Form::Qijue => ["七绝", "七言绝"],
            Form::Wulv => ["五律", "五言律"],
            Form::Qilv => ["七律", "七言律"],
        }
    };
    let mut named = Form::ALL
        .into_iter()
        .filter(|&f| names(f).iter().any(|n| folded.contains(n)));
    let first = named.next();
    match named.next() {
        Some(_) => Err(ParseError::TwoForms),
        None => Ok(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vocabulary of the characters below and a few lines of the OpenCC
    /// table, enough to read them in either script.
    fn fixtures() -> (Scripts, CharTokenizer) {
        let st = "写\t寫\n风\t風\n尽\t盡\n头\t頭\n续\t續\n绝\t絕\n诗\t詩\n说\t說\n为\t爲 為\n";
        let text = "白日依山盡黃河入海流欲窮千里目更上一層樓春風秋月爲";
        let vocab = CharTokenizer::build(std::iter::repeat_n(text, 5));
        (Scripts::from_opencc(st), vocab)
    }

    fn read(s: &str) -> Result<Constraint, ParseError> {
        let (scripts, vocab) = fixtures();
        parse(s, &scripts, &vocab)
    }

    #[test]
    fn each_type_in_either_script() {
        assert_eq!(read("写一首七言绝句"), Ok(Constraint::Form(Form::Qijue)));
        assert_eq!(read("寫一首五絕"), Ok(Constraint::Form(Form::Wujue)));
        assert_eq!(
            read("写一首含「月」字的五绝"),
            Ok(Constraint::Keyword {
                form: Form::Wujue,
                ch: '月'
            })
        );
        assert_eq!(
            read("写一首五律，不要用「风」字"),
            Ok(Constraint::Exclusion {
                form: Form::Wulv,
                ch: '風'
            })
        );
        // 為 is not the corpus's form of 为; 爲 is.
        assert_eq!(
            read("寫一首含「為」字的五絕"),
            Ok(Constraint::Keyword {
                form: Form::Wujue,
                ch: '爲'
            })
        );
        assert_eq!(
            read("以「春风秋月」为藏头写一首七绝"),
            Ok(Constraint::Acrostic {
                form: Form::Qijue,
                heads: "春風秋月".chars().collect()
            })
        );
        assert_eq!(
            read("續寫：「白日依山盡，」"),
            Ok(Constraint::Continuation {
                line: "白日依山盡".chars().collect(),
                form: None
            })
        );
        assert_eq!(
            read("以“白日依山尽”开头写一首五律"),
            Ok(Constraint::Continuation {
                line: "白日依山盡".chars().collect(),
                form: Some(Form::Wulv)
            })
        );
    }

    #[test]
    fn what_cannot_be_checked_is_an_error_with_a_reason() {
        assert_eq!(read("  "), Err(ParseError::Empty));
        assert_eq!(read("写一首诗"), Err(ParseError::NoForm));
        assert_eq!(read("写一首五绝或七绝"), Err(ParseError::TwoForms));
        assert_eq!(read("写一首含月字的五绝"), Err(ParseError::Unquoted));
        assert_eq!(
            read("写一首含「月」字的五绝"),
            read("写一首含『月』字的五绝")
        );
        assert_eq!(read("写一首含「月字的五绝"), Err(ParseError::Unclosed));
        assert_eq!(read("写一首含「」字的五绝"), Err(ParseError::EmptyQuote));
        assert_eq!(
            read("写一首含「鬱」字的五绝"),
            Err(ParseError::Unknown('鬱'))
        );
        assert_eq!(
            read("写一首含「!」字的五绝"),
            Err(ParseError::Punctuation('!'))
        );
        assert_eq!(
            read("写一首含「月日」的五绝"),
            Err(ParseError::Unrecognised)
        );
        assert_eq!(
            read("以「春风秋」为藏头写一首七绝"),
            Err(ParseError::HeadCount { got: 3, lines: 4 })
        );
        assert_eq!(read("续写：「白日依山」"), Err(ParseError::LineWidth(4)));
        assert_eq!(
            read("以「白日依山尽」开头写一首七绝"),
            Err(ParseError::FormWidth {
                form: Form::Qijue,
                width: 5
            })
        );
    }
}
