// The page's only script: pick or record audio, POST its bytes to /api/convert, show the answer.
"use strict";
const $ = (id) => document.getElementById(id);
let input = null;       // the Blob to convert: a chosen file or a recording (WAV)
let inputName = "audio";
let recorder = null;

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function setStatus(message) { $("status").textContent = message; }

async function loadVoices() {
  const response = await fetch("api/voices");
  const info = await response.json();
  for (const voice of info.voices) {
    const option = document.createElement("option");
    option.value = option.textContent = voice;
    $("target").appendChild(option);
  }
  const shift = $("shift");
  shift.disabled = !info.pitch_aware;
  shift.min = -info.max_pitch_shift; shift.max = info.max_pitch_shift;
  $("model-line").textContent = `Model ${info.model}: ${info.voices.length} voices. ` +
    `Upload up to ${info.max_upload_mb} MB and ${info.max_seconds} s of audio, or record.`;
}

function useInput(blob, name) {
  input = blob; inputName = name;
  $("original").src = URL.createObjectURL(blob);
  $("original-spec").hidden = true;
  showError("");
}

// A 16-bit mono WAV from Float32 samples, so the server never needs to decode a browser codec.
function encodeWav(samples, sampleRate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true); view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, samples.length * 2, true);
  samples.forEach((x, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, x)) * 0x7fff, true));
  return new Blob([buffer], { type: "audio/wav" });
}

async function toggleRecording() {
  const button = $("record");
  if (recorder) { recorder.stop(); return; }
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); }
  catch (e) { showError("The browser gave no microphone: " + e.message); return; }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (e) => chunks.push(e.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((t) => t.stop());
    recorder = null; button.textContent = "● Record"; button.classList.remove("recording");
    const context = new AudioContext();
    const decoded = await context.decodeAudioData(await new Blob(chunks).arrayBuffer());
    useInput(encodeWav(decoded.getChannelData(0), decoded.sampleRate), "recording");
    $("file").value = "";
  };
  recorder.start();
  button.textContent = "■ Stop"; button.classList.add("recording");
}

async function convert() {
  if (!input) { showError("Choose an audio file or record first."); return; }
  const target = $("target").value, shift = $("shift").value;
  $("convert").disabled = true; showError(""); setStatus(`Converting into ${target}…`);
  try {
    const response = await fetch(`api/convert?target=${encodeURIComponent(target)}&pitch_shift=${shift}`,
                                 { method: "POST", body: input, headers: { "Content-Type": "application/octet-stream" } });
    const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
    if (!response.ok) { showError(answer.error); setStatus(""); return; }
    const wav = await (await fetch(answer.audio)).blob();
    const url = URL.createObjectURL(wav);
    $("converted").src = url;
    $("converted-caption").textContent = `Conversion → ${answer.target}` + (answer.pitch_shift ? ` (${answer.pitch_shift > 0 ? "+" : ""}${answer.pitch_shift} st)` : "");
    $("original-spec").src = answer.source_spectrogram; $("original-spec").hidden = false;
    $("converted-spec").src = answer.converted_spectrogram; $("converted-spec").hidden = false;
    const link = $("download");
    link.href = url; link.download = `${inputName.replace(/\.[^.]*$/, "")}_to_${answer.target}.wav`; link.hidden = false;
    setStatus(`${answer.input_seconds} s converted in ${answer.seconds} s.`);
  } catch (e) {
    showError("The server could not be reached: " + e.message); setStatus("");
  } finally {
    $("convert").disabled = false;
  }
}

$("file").addEventListener("change", (e) => { if (e.target.files[0]) useInput(e.target.files[0], e.target.files[0].name); });
$("record").addEventListener("click", toggleRecording);
$("convert").addEventListener("click", convert);
$("shift").addEventListener("input", (e) => { $("shift-value").textContent = e.target.value; });
loadVoices().catch((e) => showError("Could not load the model's voices: " + e.message));
