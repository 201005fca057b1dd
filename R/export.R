#' Export a classifier for deployment: SavedModel, ONNX or LiteRT
#'
#' Writes an artefact that runs without cnnkit, Keras or R: a TensorFlow
#' SavedModel folder (`"saved_model"`, TF Serving), an ONNX file (`"onnx"`,
#' ONNX Runtime from C++, C#, Java, JavaScript, Python ...) or a LiteRT
#' `.tflite` file (`"litert"`, phones; LiteRT's built-in operators only). Keras'
#' own `Model.export()` writes it.
#'
#' Every format takes the same input and gives the same output:
#' * input `image`: float32 images `(n, height, width, channels)` at the
#'   model's size (RGB, or one grey channel) with **pixel values 0-255**, as a
#'   decoded image file gives them (resize them to the model's size first). The
#'   scaling the model was trained on (its input contract: values in `[0, 1]`,
#'   or 0-255; a transfer model's backbone preprocessing) is inside the
#'   artefact, as [predict_classes()] applies it to image files.
#' * output `probabilities`: `(n, classes)`, the softmax inside (a 1-unit
#'   sigmoid model gives `[1 - p, p]`): the probabilities [predict_classes()]
#'   gives for the same images (test-time augmentation is not included).
#' * the class names, in class order, inside the artefact (SavedModel: a
#'   `class_names` signature; ONNX: `metadata_props` `class_names`, a JSON list;
#'   LiteRT: a `labels.txt` packed into the `.tflite` file) and in a labels
#'   file, one name per line: `path/labels.txt` for a SavedModel,
#'   `model.labels.txt` beside `model.onnx` or `model.tflite`.
#'
#' The artefact is written under a temporary name and put in place only when it
#' is complete and, with `verify = TRUE`, gives the Keras model's probabilities
#' (to 1e-4) and class names through its own runtime; a failure leaves nothing
#' half-written. An earlier export at `path` is replaced; a folder holding
#' anything else is refused. ONNX needs the Python packages `tf2onnx` and `onnx`
#' (and `onnxruntime` to verify and run it): the error says how to install them.
#' The command line does the same: `cnnkit export MODEL.keras PATH`.
#'
#' @param model A trained Keras classifier, or the path of a `.keras` file saved
#'   with [save_model()].
#' @param path A folder for `"saved_model"` (created), a file ending in `.onnx`
#'   or `.tflite` for the others.
#' @param format `"saved_model"`, `"onnx"` or `"litert"`.
#' @param class_names One name per class, in class order (default: those saved
#'   with the model, else `"0"`, `"1"`, ...).
#' @param verify Run the written artefact through its runtime on 4 test images
#'   before putting it in place (ONNX: where `onnxruntime` is installed).
#' @return The path written, invisibly.
#' @examplesIf cnnkit_available()
#' model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 2)
#' file <- export_model(model, tempfile(fileext = ".tflite"), format = "litert",
#'                      class_names = c("boot", "sneaker"))
#' readLines(sub("\\.tflite$", ".labels.txt", file))
#' @export
export_model <- function(model, path, format = "saved_model", class_names = NULL, verify = TRUE) {
  invisible(cnnkit_call_warn("export_model", .args = capture_args(list(   # its warnings as R warnings
    model = as_py_path, path = as_py_path, class_names = as_py_list))))
}
