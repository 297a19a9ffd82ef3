// Photos that prove a repair, taken with the phone's camera and made smaller on the phone
// before they are kept or sent: a 12-megapixel photo is some 4 MB, at 1280 px as JPEG
// some 150 kB — seconds, not minutes, on a slow network. The hub caps the size again.

export const MAX_SIDE = 1280;
const QUALITY = 0.8;

/** The photo as a JPEG Blob at most MAX_SIDE px on its longer side. */
export async function shrink(file) {
  const bitmap = await createImageBitmap(file); // turned upright as the camera said
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close?.();
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("the photo could not be made smaller"))),
    "image/jpeg", QUALITY));
}
