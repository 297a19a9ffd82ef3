// Photos that prove a repair, taken with the phone's camera and made smaller on the phone
// before they are kept or sent: a 12-megapixel photo is some 4 MB, at 1280 px as JPEG
// some 150 kB — seconds, not minutes, on a slow network. The hub caps the size again.

export const MAX_SIDE = 1280;
const QUALITY = 0.8;

/** The photo as a JPEG Blob at most MAX_SIDE px on its longer side. */
export async function shrink(file) {
  const picture = await decoded(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(picture.width, picture.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(picture.width * scale));
  canvas.height = Math.max(1, Math.round(picture.height * scale));
  canvas.getContext("2d").drawImage(picture.source, 0, 0, canvas.width, canvas.height);
  picture.done();
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("the photo could not be made smaller"))),
    "image/jpeg", QUALITY));
}

// createImageBitmap is the quick way, but some phones' browsers lack it for some formats
// and Chromium refuses a large photo now and then when short of memory ("cannot be
// decoded"); an <img> decodes the same file another way before the crew is told it failed.
async function decoded(file) {
  try {
    const bitmap = await createImageBitmap(file); // turned upright as the camera said
    return { source: bitmap, width: bitmap.width, height: bitmap.height, done: () => bitmap.close?.() };
  } catch {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
    } catch (err) {
      URL.revokeObjectURL(url);
      throw err;
    }
    return { source: img, width: img.naturalWidth, height: img.naturalHeight, done: () => URL.revokeObjectURL(url) };
  }
}
