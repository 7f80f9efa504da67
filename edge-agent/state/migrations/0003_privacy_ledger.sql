CREATE TABLE `privacy_ledger` (
	`report_id` text PRIMARY KEY NOT NULL,
	`campaign_id` text NOT NULL,
	`epsilon` real NOT NULL,
	`spent_at` text NOT NULL
);
