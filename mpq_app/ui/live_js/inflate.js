// Streamlit hands bytes over as a Uint8Array; ours are gzip-compressed UTF-8 text.
// No page here: node's tests import this module.

export async function inflateText(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}
