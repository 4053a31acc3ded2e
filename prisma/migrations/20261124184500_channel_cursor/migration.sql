-- CreateTable
CREATE TABLE "ChannelCursor" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChannelCursor_pkey" PRIMARY KEY ("key")
);

