export {
  captureNarration,
  fieldAt,
  type NarrationCapture,
  stringsIn,
} from './capture/capture.js';
export { matchStoryGolden, storySnapshot } from './story/snapshot.js';
