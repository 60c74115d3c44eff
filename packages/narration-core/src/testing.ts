export { captureNarration, type NarrationCapture } from './capture/capture.js';
export { matchStoryGolden, storySnapshot } from './story/snapshot.js';
