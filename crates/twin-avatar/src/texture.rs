//! Base colour textures of a glTF avatar, decoded to RGBA8: PNG and JPEG, from the .glb's binary chunk, a data
//! URI or a file beside a .gltf. Anything else is named in the error.

use crate::AvatarError;
use crate::skin::Loaded;

/// Larger textures are refused: a headset cannot afford them and a broken header should not allocate gigabytes.
pub const MAX_SIDE: u32 = 8192;

/// An image as 8-bit RGBA rows, sRGB-encoded as stored.
#[derive(Debug, Clone)]
pub struct Rgba {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Decodes image `index` of the file.
pub fn decode(loaded: &Loaded, index: usize) -> Result<Rgba, AvatarError> {
    let image = loaded
        .doc
        .images()
        .nth(index)
        .ok_or_else(|| AvatarError::Broken(format!("no image {index}")))?;
    let (bytes, mime): (std::borrow::Cow<[u8]>, Option<String>) = match image.source() {
        gltf::image::Source::View { view, mime_type } => {
            let data = &loaded.buffers[view.buffer().index()];
            // View bounds were checked when the file was loaded.
            (
                data[view.offset()..view.offset() + view.length()].into(),
                Some(mime_type.to_string()),
            )
        }
        gltf::image::Source::Uri { uri, mime_type } => (
            crate::skin::read_uri(uri, loaded.base.as_deref())?.into(),
            mime_type.map(str::to_string),
        ),
    };
    let what = || format!("image {index} ({})", image.name().unwrap_or("unnamed"));
    if !is_png(&bytes) && !is_jpeg(&bytes) {
        return Err(AvatarError::Invalid(format!(
            "{} is {}, not PNG or JPEG: export its textures as PNG or JPEG",
            what(),
            mime.unwrap_or_else(|| "of unknown type".into())
        )));
    }
    decode_bytes(&bytes)
        .map_err(|e| AvatarError::Broken(format!("{} does not decode: {e}", what())))
}

/// A square image of `side` pixels (rows down; 3 or 4 bytes a pixel) as an 8-bit PNG, for the textures the
/// builder makes.
pub(crate) fn encode_png(side: usize, pixels: &[u8]) -> Vec<u8> {
    let color = if pixels.len() == side * side * 4 {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing into memory fails only on a bug here (a wrong length), not on input.
    let mut writer = encoder.write_header().expect("PNG header into memory");
    writer
        .write_image_data(pixels)
        .expect("PNG data of the declared size");
    writer.finish().expect("PNG end into memory");
    out
}

fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG")
}

fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8])
}

/// Decodes a PNG or JPEG (known by its first bytes, not its name) of at most [`MAX_SIDE`] a side.
pub fn decode_bytes(bytes: &[u8]) -> Result<Rgba, String> {
    if is_png(bytes) {
        decode_png(bytes)
    } else if is_jpeg(bytes) {
        decode_jpeg(bytes)
    } else {
        Err("not a PNG or JPEG image".into())
    }
}

fn check_size(width: u32, height: u32) -> Result<(), String> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!(
            "{width}x{height} pixels (at most {MAX_SIDE} a side)"
        ));
    }
    Ok(())
}

fn decode_png(bytes: &[u8]) -> Result<Rgba, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // Palettes, grey and 16-bit samples all come out as 8-bit colour.
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let (w, h) = (reader.info().width, reader.info().height);
    check_size(w, h)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let data = &buf[..info.buffer_size()];
    let pixels: Vec<u8> = match info.color_type {
        png::ColorType::Rgba => data.to_vec(),
        png::ColorType::Rgb => data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => data
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => data.iter().flat_map(|g| [*g, *g, *g, 255]).collect(),
        png::ColorType::Indexed => return Err("an unexpanded palette".into()),
    };
    Ok(Rgba {
        width: info.width,
        height: info.height,
        pixels,
    })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Rgba, String> {
    let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    decoder.read_info().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no JPEG header")?;
    check_size(info.width as u32, info.height as u32)?;
    let data = decoder.decode().map_err(|e| e.to_string())?;
    let pixels: Vec<u8> = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        jpeg_decoder::PixelFormat::L8 => data.iter().flat_map(|g| [*g, *g, *g, 255]).collect(),
        other => return Err(format!("{other:?} JPEGs are not read (use RGB or grey)")),
    };
    Ok(Rgba {
        width: info.width as u32,
        height: info.height as u32,
        pixels,
    })
}
