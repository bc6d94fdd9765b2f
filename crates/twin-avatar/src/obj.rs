//! Just enough Wavefront OBJ for scan-based face models: positions, texture coordinates, polygons and their
//! materials. Errors name the line.

use crate::AvatarError;

#[derive(Debug, Clone, Default)]
pub struct ObjMesh {
    pub positions: Vec<[f32; 3]>,
    pub uvs: Vec<[f32; 2]>,
    /// Material names in order of first use; faces refer to them by index.
    pub materials: Vec<String>,
    pub faces: Vec<Face>,
}

#[derive(Debug, Clone)]
pub struct Face {
    pub material: usize,
    /// (position index, uv index), 0-based.
    pub corners: Vec<(u32, Option<u32>)>,
}

fn bad(file: &str, line: usize, what: impl std::fmt::Display) -> AvatarError {
    AvatarError::Obj {
        file: file.to_string(),
        line,
        message: what.to_string(),
    }
}

fn floats<const N: usize>(
    file: &str,
    line: usize,
    mut fields: std::str::SplitAsciiWhitespace<'_>,
) -> Result<[f32; N], AvatarError> {
    let mut out = [0.0f32; N];
    for v in &mut out {
        let text = fields
            .next()
            .ok_or_else(|| bad(file, line, format!("expected {N} numbers")))?;
        *v = text
            .parse()
            .map_err(|_| bad(file, line, format!("{text:?} is not a number")))?;
        if !v.is_finite() {
            return Err(bad(file, line, format!("{text:?} is not finite")));
        }
    }
    Ok(out)
}

/// Parses a whole OBJ. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<ObjMesh, AvatarError> {
    let mut mesh = ObjMesh::default();
    let mut material = 0usize;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let mut fields = line.split_ascii_whitespace();
        match fields.next() {
            Some("v") => mesh.positions.push(floats::<3>(file, line_no, fields)?),
            Some("vt") => mesh.uvs.push(floats::<2>(file, line_no, fields)?),
            Some("usemtl") => {
                let name = fields.next().unwrap_or("").to_string();
                material = match mesh.materials.iter().position(|m| *m == name) {
                    Some(i) => i,
                    None => {
                        mesh.materials.push(name);
                        mesh.materials.len() - 1
                    }
                };
            }
            Some("f") => {
                let mut corners = Vec::with_capacity(4);
                for corner in fields {
                    let mut parts = corner.split('/');
                    let index =
                        |text: Option<&str>, count: usize| -> Result<Option<u32>, AvatarError> {
                            let Some(text) = text.filter(|t| !t.is_empty()) else {
                                return Ok(None);
                            };
                            let i: i64 = text
                                .parse()
                                .map_err(|_| bad(file, line_no, format!("bad index {text:?}")))?;
                            // OBJ indices are 1-based; negative ones count back from the end.
                            let resolved = if i < 0 { count as i64 + i } else { i - 1 };
                            if resolved < 0 || resolved >= count as i64 {
                                return Err(bad(
                                    file,
                                    line_no,
                                    format!("index {i} is outside the {count} defined so far"),
                                ));
                            }
                            Ok(Some(resolved as u32))
                        };
                    let v = index(parts.next(), mesh.positions.len())?
                        .ok_or_else(|| bad(file, line_no, "a face corner without a vertex"))?;
                    let vt = index(parts.next(), mesh.uvs.len())?;
                    corners.push((v, vt));
                }
                if corners.len() < 3 {
                    return Err(bad(file, line_no, "a face needs at least 3 corners"));
                }
                if mesh.materials.is_empty() {
                    mesh.materials.push(String::new());
                }
                mesh.faces.push(Face { material, corners });
            }
            _ => {}
        }
    }
    Ok(mesh)
}

/// Only the vertex positions of an OBJ (expression and identity shapes share the neutral mesh's topology).
pub(crate) fn parse_positions(file: &str, text: &str) -> Result<Vec<[f32; 3]>, AvatarError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("v ") {
            out.push(floats::<3>(file, n + 1, rest.split_ascii_whitespace())?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_polygons_with_materials_and_uvs() {
        let m = parse(
            "t.obj",
            "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 1\nusemtl A\nf 1/1 2/2 3/2 4/1\nusemtl B\nf -1 -2 -3\n",
        )
        .unwrap();
        assert_eq!(m.positions.len(), 4);
        assert_eq!(m.materials, ["A", "B"]);
        assert_eq!(m.faces[0].corners[1], (1, Some(1)));
        assert_eq!(m.faces[1].material, 1);
        assert_eq!(m.faces[1].corners, vec![(3, None), (2, None), (1, None)]);
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse("t.obj", "v 0 0 0\nv 1 x 0\n").unwrap_err();
        assert!(e.to_string().contains("t.obj:2"), "{e}");
        let e = parse("t.obj", "v 0 0 0\nf 1 2 3\n").unwrap_err();
        assert!(e.to_string().contains("outside the 1"), "{e}");
    }
}
