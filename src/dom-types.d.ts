// structured-headers' types name the DOM's BufferSource (a byte sequence). This project compiles
// without lib "dom", where the name would not resolve and BareItem would silently become `any`.
type BufferSource = ArrayBufferView | ArrayBuffer;
