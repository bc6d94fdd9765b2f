//! Finding the joints the twin animates in any avatar: by VRM humanoid bones when named so, else by the common
//! spellings of rigging tools (Mixamo, Blender, Unity, ARKit-ready exports).

/// Node indices of the joints animation drives; `None` where the avatar has no such joint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JointNodes {
    pub hips: Option<usize>,
    pub spine: Option<usize>,
    pub chest: Option<usize>,
    pub neck: Option<usize>,
    pub head: Option<usize>,
    pub eye_left: Option<usize>,
    pub eye_right: Option<usize>,
}

fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Finds the joints of `doc`. A joint is preferred to a mesh node of the same name (a mesh called "head").
pub fn find(doc: &gltf::Document) -> JointNodes {
    let mut nodes: Vec<(usize, String)> = doc
        .nodes()
        .map(|n| (n.index(), fold(n.name().unwrap_or(""))))
        .collect();
    // Joints and empty nodes first, each group in file order.
    let has_mesh: Vec<bool> = doc.nodes().map(|n| n.mesh().is_some()).collect();
    nodes.sort_by_key(|(i, _)| has_mesh[*i]);
    let find = |test: &dyn Fn(&str) -> bool| nodes.iter().find(|(_, n)| test(n)).map(|(i, _)| *i);
    let side = |f: &str, left: bool| {
        let (word, short) = if left { ("left", "l") } else { ("right", "r") };
        f.contains(word) || f.ends_with(short) || f.starts_with(short)
    };
    let eye = |f: &str, left: bool| {
        f.contains("eye")
            && !f.contains("brow")
            && !f.contains("lash")
            && !f.contains("lid")
            && side(f, left)
    };
    JointNodes {
        hips: find(&|f| f.contains("hips") || f == "pelvis" || f.ends_with("pelvis")),
        spine: find(&|f| f == "spine" || f.ends_with("spine") || f.ends_with("spine1")),
        chest: find(&|f| {
            f == "chest"
                || f.ends_with("chest")
                || f.ends_with("spine2")
                || f.ends_with("upperchest")
        }),
        neck: find(&|f| f.contains("neck") && !f.contains("end")),
        head: find(&|f| {
            (f == "head" || f.ends_with("head") || f.contains("headbone"))
                && !f.contains("top")
                && !f.contains("end")
        }),
        eye_left: find(&|f| eye(f, true)),
        eye_right: find(&|f| eye(f, false)),
    }
}
