import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { type DataTable, Then } from '@cucumber/cucumber';
import { matchStoryGolden } from '@vramseal/narration-core/testing';
import {
  assertCorrelationId,
  assertNarrationEvent,
  assertNarrationIncludes,
  assertNoNarrationEvent,
  assertNoPointersInNarration,
  assertNoSecretsInNarration,
} from '../assertions/narration.js';
import type { VramWorld } from '../world.js';

// Every step here counts as the scenario's narration assertion (the After hook requires one).

Then('the narration includes {string}', function (this: VramWorld, text: string) {
  this.narrationChecks++;
  assertNarrationIncludes(this.narration.events, text);
});

Then('the narration has a(n) {string} event', function (this: VramWorld, action: string) {
  this.narrationChecks++;
  assertNarrationEvent(this.narration.events, action);
});

Then(
  'the narration has a(n) {string} event at level {string}',
  function (this: VramWorld, action: string, level: string) {
    this.narrationChecks++;
    assertNarrationEvent(this.narration.events, action, { level });
  },
);

Then(
  'the narration has a(n) {string} event for shard {string}',
  function (this: VramWorld, action: string, shardId: string) {
    this.narrationChecks++;
    assertNarrationEvent(this.narration.events, action, { shard_id: shardId });
  },
);

Then(
  'the narration has a(n) {string} event with:',
  function (this: VramWorld, action: string, table: DataTable) {
    this.narrationChecks++;
    assertNarrationEvent(this.narration.events, action, Object.fromEntries(table.raw()));
  },
);

Then('the narration has no {string} event', function (this: VramWorld, action: string) {
  this.narrationChecks++;
  assertNoNarrationEvent(this.narration.events, action);
});

Then(
  'the narration has no {string} event for shard {string}',
  function (this: VramWorld, action: string, shardId: string) {
    this.narrationChecks++;
    assertNoNarrationEvent(
      this.narration.events.filter((event) => event.shard_id === shardId),
      action,
    );
  },
);

Then('nothing was narrated', function (this: VramWorld) {
  this.narrationChecks++;
  this.silenceExpected = true;
  assert.equal(this.narration.events.length, 0, 'events were narrated');
});

Then("every narration event carries the scenario's correlation id", function (this: VramWorld) {
  this.narrationChecks++;
  assertCorrelationId(this.narration.events, this.correlationId);
});

Then('the narration contains no secret', function (this: VramWorld) {
  this.narrationChecks++;
  assertNoSecretsInNarration(this.narration.events, this.knownSecrets());
});

Then('the narration shows no pointer or handle', function (this: VramWorld) {
  this.narrationChecks++;
  assertNoPointersInNarration(this.narration.events);
});

/**
 * The scenario's story (narration-core's storySnapshot: ids, times and durations normalised) equals
 * `__snapshots__/<name>.story.txt` beside the feature file. UPDATE_GOLDENS=1 rewrites it.
 */
Then('the narration story matches the snapshot {string}', function (this: VramWorld, name: string) {
  this.narrationChecks++;
  const feature = this.need(this.featureUri, 'feature file');
  const file = join(resolve(dirname(feature)), '__snapshots__', `${name}.story.txt`);
  matchStoryGolden(this.narration.events, file);
});
