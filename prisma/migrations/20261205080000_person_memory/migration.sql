-- CreateTable
CREATE TABLE "PersonMemory" (
    "person" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "summary" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0,
    "workId" UUID,
    "forgottenAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PersonMemory_pkey" PRIMARY KEY ("person")
);

-- CreateIndex
CREATE INDEX "PersonMemory_channel_source_idx" ON "PersonMemory"("channel", "source");

