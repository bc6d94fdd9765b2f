//! What a user typed or said, in the form every matcher reads: compatibility forms folded (NFKC), invisible
//! characters dropped, letters that only look Latin (Cyrillic "а", Greek "ο") made Latin, digits inside words
//! read as the letters they stand in for ("b0t"), text-speak spelled out ("r u real"), long letter runs
//! shortened ("reaaal"), lowercased, and spaces collapsed. Someone asking "are you real" gets the same answer
//! however they wrote it.

use unicode_normalization::UnicodeNormalization;

/// Characters that take no space and only serve to split words: zero-width spaces and joiners, the byte-order
/// mark, soft hyphens, bidirectional controls, variation selectors and tag characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}')
}

/// Letters of other scripts drawn like Latin ones (Unicode's confusables, the ones seen in practice).
fn latin_look_alike(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ε' | 'ё' => 'e',
        'ғ' => 'f',
        'ɡ' => 'g',
        'һ' | 'н' => 'h',
        'і' | 'ι' | 'ӏ' | 'ı' => 'i',
        'ј' | 'ϳ' => 'j',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'п' | 'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'г' => 'r',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' | 'ц' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' | 'ѡ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' | 'ү' => 'y',
        'А' | 'Α' => 'A',
        'В' | 'Β' => 'B',
        'С' | 'Ϲ' => 'C',
        'Е' | 'Ε' | 'Ё' => 'E',
        'Н' | 'Η' => 'H',
        'І' | 'Ι' | 'Ӏ' => 'I',
        'Ј' => 'J',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' => 'M',
        'Ν' => 'N',
        'О' | 'Ο' => 'O',
        'Р' | 'Ρ' => 'P',
        'Ѕ' => 'S',
        'Т' | 'Τ' => 'T',
        'Х' | 'Χ' => 'X',
        'У' | 'Υ' | 'Ү' => 'Y',
        'Ζ' => 'Z',
        '’' | '‘' | '`' | '´' | 'ʼ' => '\'',
        '“' | '”' | '„' => '"',
        _ => return None,
    })
}

/// Digits standing in for letters, read only between letters ("b0t", "r34l"; not "2026", "Mk4" or "Q2").
fn leet(c: char) -> char {
    match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        '@' => 'a',
        '$' => 's',
        _ => c,
    }
}

/// Text-speak and common contractions written without an apostrophe, whole words only.
const SPELLED_OUT: &[(&str, &str)] = &[
    ("r", "are"),
    ("u", "you"),
    ("ur", "your"),
    ("ru", "are you"),
    ("y", "why"),
    ("k", "okay"),
    ("ok", "okay"),
    ("pls", "please"),
    ("plz", "please"),
    ("thx", "thanks"),
    ("wat", "what"),
    ("wut", "what"),
    ("cuz", "because"),
    ("bc", "because"),
    ("im", "i'm"),
    ("ima", "i'm going to"),
    ("dont", "don't"),
    ("cant", "can't"),
    ("wont", "won't"),
    ("isnt", "isn't"),
    ("arent", "aren't"),
    ("youre", "you're"),
    ("whats", "what's"),
    ("thats", "that's"),
    ("ppl", "people"),
    ("rn", "right now"),
    ("tmrw", "tomorrow"),
    ("abt", "about"),
];

/// Runs of stand-ins with a letter on each side, read as letters.
fn unleet(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if leet(chars[i]) == chars[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && leet(chars[i]) != chars[i] {
            i += 1;
        }
        let inside = start > 0
            && chars[start - 1].is_alphabetic()
            && chars.get(i).is_some_and(|c| c.is_alphabetic());
        if inside {
            for c in &mut out[start..i] {
                *c = leet(*c);
            }
        }
    }
    out.into_iter().collect()
}

fn word_form(word: &str) -> String {
    let word = unleet(word);
    // Three or more of a letter in a row is emphasis ("reaaal", "sooo"), never English spelling.
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|&&c| c == chars[i]).count();
        let keep = if run >= 3 && chars[i].is_alphabetic() {
            1
        } else {
            run
        };
        out.extend(std::iter::repeat_n(chars[i], keep));
        i += run;
    }
    let bare = out.trim_matches(|c: char| !c.is_alphanumeric());
    match SPELLED_OUT.iter().find(|(short, _)| *short == bare) {
        Some((_, long)) => out.replacen(bare, long, 1),
        None => out,
    }
}

/// The text every matcher (intent rules, classifier, retrieval) reads; never shown or stored.
pub fn user_text(text: &str) -> String {
    let folded: String = text
        .nfkc()
        .filter(|&c| !is_invisible(c))
        .map(|c| latin_look_alike(c).unwrap_or(c))
        .collect::<String>()
        .to_lowercase();
    folded
        .split_whitespace()
        .map(word_form)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_invisibles_and_case_are_folded() {
        for disguised in [
            "Are you real?",
            "ARE YOU REAL?",
            "аre yоu reаl?",
            "ΑRE YOU REΑL?",
            "are\u{200b} you re\u{200d}al?",
            "are you\u{00ad} r\u{feff}eal?",
            "Ａｒｅ ｙｏｕ ｒｅａｌ?",
            "are  you\treal?",
            "r u real?",
            "are you reaaal?",
            "are you r34l?",
            "are you real\u{fe0f}?",
        ] {
            assert_eq!(user_text(disguised), "are you real?", "{disguised:?}");
        }
    }

    #[test]
    fn ordinary_text_keeps_its_words_and_numbers() {
        assert_eq!(
            user_text("We grew 58% in 2024, to $96 million. Isn't that good?"),
            "we grew 58% in 2024, to $96 million. isn't that good?"
        );
        assert_eq!(user_text("Is this a b0t?"), "is this a bot?");
        assert_eq!(user_text("the Mk4 recall in Q2"), "the mk4 recall in q2");
        assert_eq!(
            user_text("whats ur view on Helm"),
            "what's your view on helm"
        );
        assert_eq!(user_text("   "), "");
    }
}
